"""rasid.inference: load a rasid checkpoint and turn Arabic news into events.

    from rasid.inference import Predictor
    predictor = Predictor.from_pretrained("outputs/default/model")
    predictor.predict("...")

Importing the predictor imports ``rasid.models``, which registers the rasid
model with transformers' ``AutoConfig`` / ``AutoModel`` / ``AutoTokenizer``.
The package itself stays cheap to import (rasid-report needs no torch).
"""

__all__ = ["Predictor", "parse_count", "normalize"]


def __getattr__(name):  # lazy: importing the package stays cheap
    if name == "Predictor":
        from .predictor import Predictor

        return Predictor
    if name == "parse_count":
        from .counts import parse_count

        return parse_count
    if name == "normalize":
        from .normalize import normalize

        return normalize
    raise AttributeError(name)
