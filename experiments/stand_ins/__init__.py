"""The stand-ins built here for models that cannot be downloaded: the demo VLM (a Gemma 3 vision-language
model trained on synthetic radiographs) and the full-size MedGemma-4B rehearsal with random weights."""
