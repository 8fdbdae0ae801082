#!/usr/bin/env bash
# Rehearses the GPU box's main job offline: builds a random MedGemma-4B stand-in (the exact architecture at
# --scale full, small dimensions at --scale tiny) and a random Gemma Scope 2 SAE into a throwaway HF cache
# under their real ids, writes a few PSF-Med MIMIC-format questions with synthetic images, then runs the
# real command, `psf-workbench study --preset medgemma-4b`, offline, and summarises each step's time and
# the peak memory. Only counts shrink (questions, paraphrases, samples, swept layers), never shapes.
#
#   bash scripts/rehearse_medgemma.sh [--scale full|tiny] [--questions N] [--paraphrases K]
#                                     [--preset-counts] [--workdir DIR] [-- extra study options]
#
# Tiny scale (the test suite runs it): 4 questions x 3 paraphrases, the preset's counts, a minute or two.
# Full scale: the smallest meaningful run, 2 questions x 1 paraphrase (the swapped image needs two patients)
# with `--dtype bfloat16 --clamp-questions 2 --sweep-layer 17 --sweep-pairs 1 --control-pairs 2`
# (--preset-counts keeps the preset's samples and sweeps every layer). With random weights each pair flips
# by chance, so the 2-pair FlipBank can be empty: the study then stops after the flip study with
# EmptyFlipBankError (exit 2); rerun with more --paraphrases.
# Cost at full scale on the 2-core development CPU, in bf16 (an estimate from a probe that timed 3 of the 27
# SigLIP layers and 2 of the 34 decoder layers, scaled up): an image prompt's prefill about 70 s (113 s in
# fp32), two thirds of it in SigLIP at 896 px; a 24-token greedy answer to one about 87 s, prefill
# included. The default run mines 16 prompts (12 with an image) in the flip study and 5 x 16 in clamping,
# plus at most 28 image forwards for features, patching and the sweep: about 2.5 hours, 1.5 of them
# clamping (text prompts and the latency step add minutes). The cache is built once per work folder (8.6 GB
# on disk, one 5 GiB shard in RAM at a time).
# Everything lands in the work folder: hf-home/, questions/, runs/, figures/, build.measure.json,
# study.measure.json, study.log, summary.json and summary.md. Rerunning reuses the finished steps.
set -euo pipefail
cd "$(dirname "$0")/.."

scale=tiny
n_questions=""
n_paraphrases=""
preset_counts=false
workdir=""
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --scale) scale="$2"; shift 2 ;;
        --questions) n_questions="$2"; shift 2 ;;
        --paraphrases) n_paraphrases="$2"; shift 2 ;;
        --preset-counts) preset_counts=true; shift ;;
        --workdir) workdir="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$scale" in
    full) n_questions="${n_questions:-2}"; n_paraphrases="${n_paraphrases:-1}" ;;
    tiny) n_questions="${n_questions:-4}"; n_paraphrases="${n_paraphrases:-3}" ;;
    *) echo "--scale must be full or tiny, not $scale" >&2; exit 2 ;;
esac
if ! [[ "$n_questions" =~ ^[0-9]+$ && "$n_paraphrases" =~ ^[0-9]+$ ]]; then
    echo "--questions and --paraphrases take whole numbers" >&2; exit 2
fi
workdir="${workdir:-${TMPDIR:-/tmp}/psf-rehearsal-$scale}"
mkdir -p "$workdir"
workdir="$(cd "$workdir" && pwd)"
python="${PSF_REHEARSAL_PYTHON:-.venv/bin/python}"  # the workbench's interpreter; psf-workbench sits beside it
workbench="$(dirname "$python")/psf-workbench"
rehearsal=("$python" -m experiments.commands.rehearsal)
printf '{"scale": "%s", "questions": %s, "paraphrases": %s}\n' "$scale" "$n_questions" "$n_paraphrases" \
    > "$workdir/settings.json"

if grep -qs "\"scale\": \"$scale\"" "$workdir/hf-home/rehearsal.json"; then
    echo "== the $scale rehearsal cache in $workdir/hf-home is built already"
else
    echo "== building the $scale rehearsal cache in $workdir/hf-home"
    "${rehearsal[@]}" measure --out "$workdir/build.measure.json" -- \
        "${rehearsal[@]}" build-cache --hf-home "$workdir/hf-home" --scale "$scale"
fi

# One folder per count, each with its own images (the run folder's hash covers the question file's content).
questions="$workdir/questions/q$n_questions-p$n_paraphrases"
echo "== writing $n_questions questions with $n_paraphrases paraphrases each into $questions"
"${rehearsal[@]}" questions --folder "$questions" --questions "$n_questions" --paraphrases "$n_paraphrases"

study_options=()
if [[ "$scale" == full ]]; then
    # bf16 everywhere (automatic on a GPU): 8.6 GB of weights instead of 17.2 GB in fp32 on a CPU.
    study_options+=(--dtype bfloat16)
    if [[ "$preset_counts" == false ]]; then
        study_options+=(--clamp-questions 2 --sweep-layer 17 --sweep-pairs 1 --control-pairs 2)
    fi
fi

echo "== running the medgemma-4b preset offline"
set +e
env HF_HOME="$workdir/hf-home" HF_HUB_CACHE="$workdir/hf-home/hub" HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 PSF_WORKBENCH_CACHE="$workdir/workbench-cache" \
    "${rehearsal[@]}" measure --out "$workdir/study.measure.json" -- \
    "$workbench" study --preset medgemma-4b \
    --questions "$questions/mimic_rehearsal.json" --image-root "$questions/images" \
    --output "$workdir/runs" --figures "$workdir/figures" ${study_options[@]+"${study_options[@]}"} \
    ${extra[@]+"${extra[@]}"} 2>&1 | tee "$workdir/study.log"
study_status=${PIPESTATUS[0]}
set -e

echo "== summary"
"${rehearsal[@]}" summary --workdir "$workdir" || true
exit "$study_status"
