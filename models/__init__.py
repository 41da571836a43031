"""rasid.models: the rasid model as a transformers model.

Importing this package registers ``model_type: "rasid"`` with ``AutoConfig``,
``AutoModel`` and ``AutoTokenizer``, so a rasid checkpoint directory loads with
``AutoModel.from_pretrained(dir)`` (no ``trust_remote_code``).
"""

from .configuration import CheckpointError, RasidConfig
from .modeling import RasidForEventExtraction, RasidOutput

__all__ = ["CheckpointError", "RasidConfig", "RasidForEventExtraction", "RasidOutput"]
