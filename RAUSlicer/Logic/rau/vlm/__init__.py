"""Vision-language localization for RAU: model families, prompts, answers, backends, localizer.

``import rau.vlm`` stays light; torch and transformers load only inside the backends.
"""
