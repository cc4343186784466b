"""The model zoo: one class per served model file, each built the same way.

``Model.from_store(store, name, threads)`` opens the verified file named in the manifest
(``models/<name>.toml``), checks its task, input shape and ``params`` and fails at start-up
with the file's name if anything is off. Every class is a :class:`ZooModel`: ``name``,
``version``, ``info`` (for responses) and ``warm_up()``. Services build their models here,
never from a sibling service.
"""

from services.shared.model_zoo.age import AgeEstimate, AgeModel
from services.shared.model_zoo.age_gender_head import AgeGender, AgeGenderHead
from services.shared.model_zoo.base import ServedModel, ZooModel, warm_up_all
from services.shared.model_zoo.crop_embedders import DlibDescriptor, FaceNetEmbedder
from services.shared.model_zoo.embedder import Embedder
from services.shared.model_zoo.embedders import open_embedder
from services.shared.model_zoo.emotion import EmotionModel
from services.shared.model_zoo.faceapi_age_gender import FaceApiAgeGender
from services.shared.model_zoo.facemesh import FaceMesh
from services.shared.model_zoo.fused_embedder import FusedEmbedder
from services.shared.model_zoo.gender import GenderEstimate, GenderModel
from services.shared.model_zoo.minifasnet import MiniFASNet
from services.shared.model_zoo.sface import SFace
from services.shared.model_zoo.yunet import DetectedFace, YuNetDetector

__all__ = [
    "AgeEstimate",
    "AgeGender",
    "AgeGenderHead",
    "AgeModel",
    "DetectedFace",
    "DlibDescriptor",
    "Embedder",
    "EmotionModel",
    "FaceApiAgeGender",
    "FaceMesh",
    "FaceNetEmbedder",
    "FusedEmbedder",
    "GenderEstimate",
    "GenderModel",
    "MiniFASNet",
    "SFace",
    "ServedModel",
    "YuNetDetector",
    "ZooModel",
    "open_embedder",
    "warm_up_all",
]
