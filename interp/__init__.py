"""The model side: loading Gemma 3 models, prompts, hooks, the yes-minus-no margin, and interventions."""
