"""Model loading and inference shared by every engine that needs weights (SAM2, vision-language models)."""
