from animgen.v1 import clip_pb2 as _clip_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Generator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GENERATOR_UNSPECIFIED: _ClassVar[Generator]
    GENERATOR_NETWORK: _ClassVar[Generator]
    GENERATOR_ANALYTIC: _ClassVar[Generator]

class OutputFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTPUT_FORMAT_UNSPECIFIED: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_GLB: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_BVH: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_JSON: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_NPZ: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_REPORT: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_PREVIEW: _ClassVar[OutputFormat]

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]
    JOB_STATE_INTERRUPTED: _ClassVar[JobState]

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_STATE: _ClassVar[EventType]
    EVENT_TYPE_QUEUED: _ClassVar[EventType]
    EVENT_TYPE_STAGE_STARTED: _ClassVar[EventType]
    EVENT_TYPE_STAGE_PROGRESS: _ClassVar[EventType]
    EVENT_TYPE_STAGE_FINISHED: _ClassVar[EventType]
    EVENT_TYPE_WARNING: _ClassVar[EventType]
    EVENT_TYPE_DONE: _ClassVar[EventType]
    EVENT_TYPE_FAILED: _ClassVar[EventType]
    EVENT_TYPE_CANCELLED: _ClassVar[EventType]
    EVENT_TYPE_INTERRUPTED: _ClassVar[EventType]
GENERATOR_UNSPECIFIED: Generator
GENERATOR_NETWORK: Generator
GENERATOR_ANALYTIC: Generator
OUTPUT_FORMAT_UNSPECIFIED: OutputFormat
OUTPUT_FORMAT_GLB: OutputFormat
OUTPUT_FORMAT_BVH: OutputFormat
OUTPUT_FORMAT_JSON: OutputFormat
OUTPUT_FORMAT_NPZ: OutputFormat
OUTPUT_FORMAT_REPORT: OutputFormat
OUTPUT_FORMAT_PREVIEW: OutputFormat
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
JOB_STATE_INTERRUPTED: JobState
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_STATE: EventType
EVENT_TYPE_QUEUED: EventType
EVENT_TYPE_STAGE_STARTED: EventType
EVENT_TYPE_STAGE_PROGRESS: EventType
EVENT_TYPE_STAGE_FINISHED: EventType
EVENT_TYPE_WARNING: EventType
EVENT_TYPE_DONE: EventType
EVENT_TYPE_FAILED: EventType
EVENT_TYPE_CANCELLED: EventType
EVENT_TYPE_INTERRUPTED: EventType

class UploadHeader(_message.Message):
    __slots__ = ("file_name", "size_bytes", "sha256", "may_answer_early")
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    MAY_ANSWER_EARLY_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    size_bytes: int
    sha256: str
    may_answer_early: bool
    def __init__(self, file_name: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., may_answer_early: bool = ...) -> None: ...

class UploadVideoRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: UploadHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[UploadHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadVideoResponse(_message.Message):
    __slots__ = ("upload_id", "size_bytes", "sha256", "already_stored")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    ALREADY_STORED_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    size_bytes: int
    sha256: str
    already_stored: bool
    def __init__(self, upload_id: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., already_stored: bool = ...) -> None: ...

class GenerateOptions(_message.Message):
    __slots__ = ("hands", "smoothing", "start_seconds", "end_seconds", "fps", "generator", "formats", "in_place", "loop", "mirror", "speed", "face_forward", "foot_lock", "keyframe_tolerance_degrees", "keyframe_tolerance_mm", "target", "crop")
    HANDS_FIELD_NUMBER: _ClassVar[int]
    SMOOTHING_FIELD_NUMBER: _ClassVar[int]
    START_SECONDS_FIELD_NUMBER: _ClassVar[int]
    END_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    FORMATS_FIELD_NUMBER: _ClassVar[int]
    IN_PLACE_FIELD_NUMBER: _ClassVar[int]
    LOOP_FIELD_NUMBER: _ClassVar[int]
    MIRROR_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    FACE_FORWARD_FIELD_NUMBER: _ClassVar[int]
    FOOT_LOCK_FIELD_NUMBER: _ClassVar[int]
    KEYFRAME_TOLERANCE_DEGREES_FIELD_NUMBER: _ClassVar[int]
    KEYFRAME_TOLERANCE_MM_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    CROP_FIELD_NUMBER: _ClassVar[int]
    hands: bool
    smoothing: float
    start_seconds: float
    end_seconds: float
    fps: float
    generator: Generator
    formats: _containers.RepeatedScalarFieldContainer[OutputFormat]
    in_place: bool
    loop: bool
    mirror: bool
    speed: float
    face_forward: bool
    foot_lock: bool
    keyframe_tolerance_degrees: float
    keyframe_tolerance_mm: float
    target: _clip_pb2.TargetSkeleton
    crop: CropRegion
    def __init__(self, hands: bool = ..., smoothing: _Optional[float] = ..., start_seconds: _Optional[float] = ..., end_seconds: _Optional[float] = ..., fps: _Optional[float] = ..., generator: _Optional[_Union[Generator, str]] = ..., formats: _Optional[_Iterable[_Union[OutputFormat, str]]] = ..., in_place: bool = ..., loop: bool = ..., mirror: bool = ..., speed: _Optional[float] = ..., face_forward: bool = ..., foot_lock: bool = ..., keyframe_tolerance_degrees: _Optional[float] = ..., keyframe_tolerance_mm: _Optional[float] = ..., target: _Optional[_Union[_clip_pb2.TargetSkeleton, _Mapping]] = ..., crop: _Optional[_Union[CropRegion, _Mapping]] = ...) -> None: ...

class CropRegion(_message.Message):
    __slots__ = ("x", "y", "width", "height")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    x: int
    y: int
    width: int
    height: int
    def __init__(self, x: _Optional[int] = ..., y: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class StartJobRequest(_message.Message):
    __slots__ = ("upload_id", "options", "request_id")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    options: GenerateOptions
    request_id: str
    def __init__(self, upload_id: _Optional[str] = ..., options: _Optional[_Union[GenerateOptions, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("job_id", "upload_id", "video_name", "state", "options", "stage", "progress", "error", "created_unix_ms", "updated_unix_ms", "cached", "warnings", "frames", "detected_share")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    VIDEO_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    DETECTED_SHARE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    upload_id: str
    video_name: str
    state: JobState
    options: GenerateOptions
    stage: str
    progress: float
    error: str
    created_unix_ms: int
    updated_unix_ms: int
    cached: bool
    warnings: _containers.RepeatedScalarFieldContainer[str]
    frames: int
    detected_share: float
    def __init__(self, job_id: _Optional[str] = ..., upload_id: _Optional[str] = ..., video_name: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., options: _Optional[_Union[GenerateOptions, _Mapping]] = ..., stage: _Optional[str] = ..., progress: _Optional[float] = ..., error: _Optional[str] = ..., created_unix_ms: _Optional[int] = ..., updated_unix_ms: _Optional[int] = ..., cached: bool = ..., warnings: _Optional[_Iterable[str]] = ..., frames: _Optional[int] = ..., detected_share: _Optional[float] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job_id", "type", "stage", "stage_progress", "progress", "message", "job")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    STAGE_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    type: EventType
    stage: str
    stage_progress: float
    progress: float
    message: str
    job: Job
    def __init__(self, job_id: _Optional[str] = ..., type: _Optional[_Union[EventType, str]] = ..., stage: _Optional[str] = ..., stage_progress: _Optional[float] = ..., progress: _Optional[float] = ..., message: _Optional[str] = ..., job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetResultRequest(_message.Message):
    __slots__ = ("job_id", "formats", "target_motion")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FORMATS_FIELD_NUMBER: _ClassVar[int]
    TARGET_MOTION_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    formats: _containers.RepeatedScalarFieldContainer[OutputFormat]
    target_motion: bool
    def __init__(self, job_id: _Optional[str] = ..., formats: _Optional[_Iterable[_Union[OutputFormat, str]]] = ..., target_motion: bool = ...) -> None: ...

class ResultFile(_message.Message):
    __slots__ = ("format", "file_name", "size_bytes", "sha256")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    format: OutputFormat
    file_name: str
    size_bytes: int
    sha256: str
    def __init__(self, format: _Optional[_Union[OutputFormat, str]] = ..., file_name: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class ResultHeader(_message.Message):
    __slots__ = ("job", "clip", "files")
    JOB_FIELD_NUMBER: _ClassVar[int]
    CLIP_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    job: Job
    clip: _clip_pb2.HumanoidClip
    files: _containers.RepeatedCompositeFieldContainer[ResultFile]
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ..., clip: _Optional[_Union[_clip_pb2.HumanoidClip, _Mapping]] = ..., files: _Optional[_Iterable[_Union[ResultFile, _Mapping]]] = ...) -> None: ...

class FileChunk(_message.Message):
    __slots__ = ("file_name", "offset", "data")
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    offset: int
    data: bytes
    def __init__(self, file_name: _Optional[str] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class GetResultResponse(_message.Message):
    __slots__ = ("header", "chunk", "target_motion")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    TARGET_MOTION_FIELD_NUMBER: _ClassVar[int]
    header: ResultHeader
    chunk: FileChunk
    target_motion: _clip_pb2.TargetMotion
    def __init__(self, header: _Optional[_Union[ResultHeader, _Mapping]] = ..., chunk: _Optional[_Union[FileChunk, _Mapping]] = ..., target_motion: _Optional[_Union[_clip_pb2.TargetMotion, _Mapping]] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("limit", "states")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    limit: int
    states: _containers.RepeatedScalarFieldContainer[JobState]
    def __init__(self, limit: _Optional[int] = ..., states: _Optional[_Iterable[_Union[JobState, str]]] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ...) -> None: ...

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "version", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    description: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_upload_bytes", "max_video_seconds", "max_concurrent_jobs", "max_queued_jobs", "upload_expiry_seconds", "max_chunk_bytes", "result_expiry_seconds")
    MAX_UPLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_VIDEO_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_JOBS_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUED_JOBS_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_EXPIRY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    RESULT_EXPIRY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    max_upload_bytes: int
    max_video_seconds: float
    max_concurrent_jobs: int
    max_queued_jobs: int
    upload_expiry_seconds: int
    max_chunk_bytes: int
    result_expiry_seconds: int
    def __init__(self, max_upload_bytes: _Optional[int] = ..., max_video_seconds: _Optional[float] = ..., max_concurrent_jobs: _Optional[int] = ..., max_queued_jobs: _Optional[int] = ..., upload_expiry_seconds: _Optional[int] = ..., max_chunk_bytes: _Optional[int] = ..., result_expiry_seconds: _Optional[int] = ...) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("server_version", "protocol_version", "models", "limits", "output_formats", "generators", "default_generator", "auth_required", "backend")
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMATS_FIELD_NUMBER: _ClassVar[int]
    GENERATORS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_GENERATOR_FIELD_NUMBER: _ClassVar[int]
    AUTH_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    server_version: str
    protocol_version: str
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    limits: Limits
    output_formats: _containers.RepeatedScalarFieldContainer[OutputFormat]
    generators: _containers.RepeatedScalarFieldContainer[Generator]
    default_generator: Generator
    auth_required: bool
    backend: str
    def __init__(self, server_version: _Optional[str] = ..., protocol_version: _Optional[str] = ..., models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., output_formats: _Optional[_Iterable[_Union[OutputFormat, str]]] = ..., generators: _Optional[_Iterable[_Union[Generator, str]]] = ..., default_generator: _Optional[_Union[Generator, str]] = ..., auth_required: bool = ..., backend: _Optional[str] = ...) -> None: ...
