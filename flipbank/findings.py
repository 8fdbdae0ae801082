"""The finding dictionary of the prompt normaliser: the 14 CheXpert findings, each with
synonym patterns (e.g. "collapsed lung" -> pneumothorax, "fluid buildup" -> pleural effusion) and
the canonical question it normalises to."""

from __future__ import annotations

from dataclasses import dataclass

#: The canonical question; two findings need their own wording (see `Finding`).
CANONICAL_TEMPLATE = "Is {name} present in this chest radiograph?"

_SEEMS = r"(?:is |are |looks? |appears? |seems? )?(?:abnormally |markedly |slightly )?"


@dataclass(frozen=True)
class Finding:
    """One CheXpert finding: its name and synonym patterns (regular-expression fragments matched on
    whole words of the lower-cased question, with hyphens read as spaces)."""

    name: str
    synonyms: tuple[str, ...]
    canonical_question: str = ""

    def question(self) -> str:
        return self.canonical_question or CANONICAL_TEMPLATE.format(name=self.name)


FINDINGS: tuple[Finding, ...] = (
    Finding(
        "atelectasis",
        (
            "atelectasis",
            "atelectatic(?: changes?)?",
            "volume loss",
            "lobar collapse",
            "collapsed lobe",
            "partial (?:lung )?collapse",
            "subsegmental collapse",
        ),
    ),
    Finding(
        "cardiomegaly",
        (
            "cardiomegaly",
            "enlarged heart",
            "heart enlargement",
            "enlargement of the heart",
            "cardiac enlargement",
            "big heart",
            "large heart",
            "enlarged cardiac silhouette",
            "enlargement of the (?:heart|cardiac silhouette)",
            f"heart {_SEEMS}(?:enlarged|big|large)",
            f"(?:cardiac silhouette|heart size) {_SEEMS}(?:enlarged|increased|large)",
        ),
    ),
    Finding(
        "consolidation",
        (
            "consolidation",
            "consolidations",
            "consolidated lung",
            "consolidative opacit(?:y|ies)",
            "air bronchograms?",
            "airspace consolidation",
        ),
    ),
    Finding(
        "edema",
        (
            "edema",
            "oedema",
            "pulmonary (?:o)?edema",
            "fluid in the lungs?",
            "water on the lungs?",  # lay term, also used for effusion; read as edema here
            "fluid overload in the lungs?",
            "wet lungs?",
            "pulmonary congestion",
            "kerley b lines",
        ),
    ),
    Finding(
        "enlarged cardiomediastinum",
        (
            "enlarged cardiomediastinum",
            "widened mediastinum",
            "mediastinal widening",
            "widening of the mediastinum",
            "enlarged mediastinum",
            "wide mediastinum",
            "enlarged cardiomediastinal (?:silhouette|contour)",
            "enlargement of the cardiomediastin(?:um|al silhouette)",
            f"(?:mediastinum|mediastinal contour|mediastinal silhouette) {_SEEMS}"
            "(?:widened|wide|enlarged|broadened)",
        ),
    ),
    Finding(
        "fracture",
        (
            "fractures?",
            "fractured",
            "broken (?:ribs?|bones?|clavicle|collarbone)",
            "cracked ribs?",
            f"(?:ribs?|bones?|clavicle|collarbone) {_SEEMS}(?:fractured|broken)",
            "rib breaks?",
            "bone breaks?",
        ),
    ),
    Finding(
        "lung lesion",
        (
            "lung lesions?",
            "pulmonary lesions?",
            "lesions? in the lungs?",
            "nodules?",
            "nodular opacit(?:y|ies)",
            "lung mass(?:es)?",
            "pulmonary mass(?:es)?",
            "mass(?:es)? in the lungs?",
            "coin lesions?",
            "spots? on the lungs?",
            "lung tumou?rs?",
        ),
    ),
    Finding(
        "lung opacity",
        (
            "lung opacit(?:y|ies)",
            "pulmonary opacit(?:y|ies)",
            "opacit(?:y|ies)",
            "opacification",
            "airspace opacit(?:y|ies)",
            "airspace disease",
            "infiltrates?",
            "haziness",
            "hazy lungs?",
            "shadowing",
            "shadows? on the lungs?",
            "cloudy lungs?",
        ),
    ),
    Finding(
        "no finding",
        (
            "no findings?",
            "no abnormalit(?:y|ies)",
            "no abnormal findings?",
            "no acute (?:cardiopulmonary )?(?:findings?|abnormalit(?:y|ies)|process|disease)",
            "nothing (?:abnormal|wrong)",
            "within normal limits",
            "unremarkable",
            "normal (?:chest )?(?:x ray|xray|radiograph|film|study|cxr|examination)",
            f"(?:chest|x ray|xray|radiograph|film|study|image|examination) {_SEEMS}"
            "(?:completely |entirely |totally )?normal",
        ),
        canonical_question="Is this chest radiograph normal?",
    ),
    Finding(
        "pleural effusion",
        (
            "pleural effusions?",
            "effusions?",
            "fluid buildup",
            "fluid build up",
            "buildup of fluid",
            "fluid around the lungs?",
            "pleural fluid",
            "fluid in the pleural space",
            "hydrothorax",
            "blunt(?:ed|ing of the)? costophrenic angles?",
            f"costophrenic angles? {_SEEMS}(?:blunted|blunt)",
        ),
    ),
    Finding(
        "pleural other",
        (
            "pleural other",
            "pleural thickening",
            "thickened pleura",
            "pleural plaques?",
            "pleural scarring",
            "pleural abnormalit(?:y|ies)",
            "abnormalit(?:y|ies) of the pleura",
            "pleural calcifications?",
            "fibrothorax",
            "pleural disease",
        ),
    ),
    Finding(
        "pneumonia",
        (
            "pneumonia",
            "pneumonias",
            "bronchopneumonia",
            "pneumonic",
            "chest infection",
            "lung infection",
            "infection in the lungs?",
            "infectious process",
            "infection",
        ),
    ),
    Finding(
        "pneumothorax",
        (
            "pneumothorax",
            "pneumothoraces",
            "collapsed lung",
            "air in the pleural space",
            "air around the lungs?",
            "ptx",
            "punctured lung",
        ),
    ),
    Finding(
        "support devices",
        (
            "support devices?",
            "medical devices?",
            "lines (?:and|or) tubes",
            "tubes? (?:and|or) lines?",
            "endotracheal tube",
            "et tube",
            "breathing tube",
            "indwelling (?:devices?|lines?|catheters?)",
            "central (?:venous )?(?:line|catheter)",
            "picc(?: line)?",
            "pacemakers?",
            "pacer",
            "nasogastric tube",
            "ng tube",
            "feeding tube",
            "chest tube",
            "tracheostomy tube",
            "sternotomy wires",
            "catheters?",
            "monitoring leads",
        ),
        canonical_question="Are support devices present in this chest radiograph?",
    ),
)

FINDING_NAMES: tuple[str, ...] = tuple(finding.name for finding in FINDINGS)
