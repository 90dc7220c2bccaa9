from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Vector3(_message.Message):
    __slots__ = ("x", "y", "z")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    Z_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    z: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ..., z: _Optional[float] = ...) -> None: ...

class Quaternion(_message.Message):
    __slots__ = ("x", "y", "z", "w")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    Z_FIELD_NUMBER: _ClassVar[int]
    W_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    z: float
    w: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ..., z: _Optional[float] = ..., w: _Optional[float] = ...) -> None: ...

class Bone(_message.Message):
    __slots__ = ("name", "parent", "rest_offset")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REST_OFFSET_FIELD_NUMBER: _ClassVar[int]
    name: str
    parent: int
    rest_offset: Vector3
    def __init__(self, name: _Optional[str] = ..., parent: _Optional[int] = ..., rest_offset: _Optional[_Union[Vector3, _Mapping]] = ...) -> None: ...

class HumanoidClip(_message.Message):
    __slots__ = ("name", "bones", "frame_rate", "frame_count", "hips_positions", "rotations", "left_foot_contact", "right_foot_contact", "confidence", "root_motion", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    BONES_FIELD_NUMBER: _ClassVar[int]
    FRAME_RATE_FIELD_NUMBER: _ClassVar[int]
    FRAME_COUNT_FIELD_NUMBER: _ClassVar[int]
    HIPS_POSITIONS_FIELD_NUMBER: _ClassVar[int]
    ROTATIONS_FIELD_NUMBER: _ClassVar[int]
    LEFT_FOOT_CONTACT_FIELD_NUMBER: _ClassVar[int]
    RIGHT_FOOT_CONTACT_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    ROOT_MOTION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    bones: _containers.RepeatedCompositeFieldContainer[Bone]
    frame_rate: float
    frame_count: int
    hips_positions: _containers.RepeatedScalarFieldContainer[float]
    rotations: _containers.RepeatedScalarFieldContainer[float]
    left_foot_contact: _containers.RepeatedScalarFieldContainer[bool]
    right_foot_contact: _containers.RepeatedScalarFieldContainer[bool]
    confidence: _containers.RepeatedScalarFieldContainer[float]
    root_motion: _containers.RepeatedScalarFieldContainer[float]
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., bones: _Optional[_Iterable[_Union[Bone, _Mapping]]] = ..., frame_rate: _Optional[float] = ..., frame_count: _Optional[int] = ..., hips_positions: _Optional[_Iterable[float]] = ..., rotations: _Optional[_Iterable[float]] = ..., left_foot_contact: _Optional[_Iterable[bool]] = ..., right_foot_contact: _Optional[_Iterable[bool]] = ..., confidence: _Optional[_Iterable[float]] = ..., root_motion: _Optional[_Iterable[float]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TargetBone(_message.Message):
    __slots__ = ("name", "parent", "rest_translation", "rest_rotation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REST_TRANSLATION_FIELD_NUMBER: _ClassVar[int]
    REST_ROTATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    parent: int
    rest_translation: Vector3
    rest_rotation: Quaternion
    def __init__(self, name: _Optional[str] = ..., parent: _Optional[int] = ..., rest_translation: _Optional[_Union[Vector3, _Mapping]] = ..., rest_rotation: _Optional[_Union[Quaternion, _Mapping]] = ...) -> None: ...

class TargetSkeleton(_message.Message):
    __slots__ = ("name", "bones", "bone_map")
    class BoneMapEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    BONES_FIELD_NUMBER: _ClassVar[int]
    BONE_MAP_FIELD_NUMBER: _ClassVar[int]
    name: str
    bones: _containers.RepeatedCompositeFieldContainer[TargetBone]
    bone_map: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., bones: _Optional[_Iterable[_Union[TargetBone, _Mapping]]] = ..., bone_map: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TargetMotion(_message.Message):
    __slots__ = ("bones", "frame_rate", "frame_count", "rest_translations", "rest_rotations", "turning", "rotations", "moving", "translations", "hips_scale", "feet_locked")
    BONES_FIELD_NUMBER: _ClassVar[int]
    FRAME_RATE_FIELD_NUMBER: _ClassVar[int]
    FRAME_COUNT_FIELD_NUMBER: _ClassVar[int]
    REST_TRANSLATIONS_FIELD_NUMBER: _ClassVar[int]
    REST_ROTATIONS_FIELD_NUMBER: _ClassVar[int]
    TURNING_FIELD_NUMBER: _ClassVar[int]
    ROTATIONS_FIELD_NUMBER: _ClassVar[int]
    MOVING_FIELD_NUMBER: _ClassVar[int]
    TRANSLATIONS_FIELD_NUMBER: _ClassVar[int]
    HIPS_SCALE_FIELD_NUMBER: _ClassVar[int]
    FEET_LOCKED_FIELD_NUMBER: _ClassVar[int]
    bones: _containers.RepeatedScalarFieldContainer[str]
    frame_rate: float
    frame_count: int
    rest_translations: _containers.RepeatedScalarFieldContainer[float]
    rest_rotations: _containers.RepeatedScalarFieldContainer[float]
    turning: _containers.RepeatedScalarFieldContainer[int]
    rotations: _containers.RepeatedScalarFieldContainer[float]
    moving: int
    translations: _containers.RepeatedScalarFieldContainer[float]
    hips_scale: float
    feet_locked: bool
    def __init__(self, bones: _Optional[_Iterable[str]] = ..., frame_rate: _Optional[float] = ..., frame_count: _Optional[int] = ..., rest_translations: _Optional[_Iterable[float]] = ..., rest_rotations: _Optional[_Iterable[float]] = ..., turning: _Optional[_Iterable[int]] = ..., rotations: _Optional[_Iterable[float]] = ..., moving: _Optional[int] = ..., translations: _Optional[_Iterable[float]] = ..., hips_scale: _Optional[float] = ..., feet_locked: bool = ...) -> None: ...
