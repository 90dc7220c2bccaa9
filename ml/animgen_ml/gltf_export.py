"""HumanoidClip <-> binary glTF (.glb).

The file holds a node per bone, named after HumanBodyBones, in the T-pose rest (translation = rest offset,
no rotation), a skin over those nodes so that importers (Blender, Unreal) build an armature, a small stick
figure mesh bound to that skin (engines that import animation only for skinned meshes need one), and one
animation: a rotation channel per bone and a translation channel for Hips, LINEAR, keyed at frame / fps.
With `keys` (from keyframes.reduce_keys) each channel keeps only its own frames, through its own sampler input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygltflib as G

from animgen_ml import rotations as R
from animgen_ml import skeleton
from animgen_ml.clip import HumanoidClip

GENERATOR = "AnimGen"
_ARRAY_BUFFER = 34962
_ELEMENT_ARRAY_BUFFER = 34963
# Stick figure: each bone is drawn as a thin four-sided spindle from its head to its child's head.
_SPINDLE_WIDTH = 0.12  # of the bone's length


class _Blob:
    """The one binary buffer. Vertex and index arrays get a bufferView each (their targets differ); other
    arrays are accessors into one view per use ("animation", "ibm": the validator refuses mixed uses), which
    keeps the JSON small when key reduction gives each channel its own arrays."""

    def __init__(self, gltf: G.GLTF2) -> None:
        self.gltf = gltf
        self.data = bytearray()
        self.shared: dict[str, tuple[bytearray, list[G.Accessor]]] = {}

    def add(self, arr: np.ndarray, type_: str, component: int, target: int | None = None,
            min_max: bool = False, use: str = "animation") -> int:
        arr = np.ascontiguousarray(arr)
        acc = G.Accessor(componentType=component, count=len(arr), type=type_)
        if target is None:
            data, accessors = self.shared.setdefault(use, (bytearray(), []))
            acc.byteOffset = len(data)  # every component here is 4 bytes: offsets stay aligned
            data += arr.tobytes()
            accessors.append(acc)
        else:
            acc.bufferView = self._view(arr.tobytes(), target)
        if min_max:
            flat = arr.reshape(len(arr), -1)
            acc.min = [float(v) if component == G.FLOAT else int(v) for v in flat.min(axis=0)]
            acc.max = [float(v) if component == G.FLOAT else int(v) for v in flat.max(axis=0)]
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1

    def _view(self, data: bytes, target: int | None) -> int:
        while len(self.data) % 4:
            self.data.append(0)
        self.gltf.bufferViews.append(G.BufferView(buffer=0, byteOffset=len(self.data), byteLength=len(data),
                                                  target=target))
        self.data += data
        return len(self.gltf.bufferViews) - 1

    def finish(self) -> None:
        """Append the shared views and the buffer itself."""
        for data, accessors in self.shared.values():
            view = self._view(bytes(data), None)
            for acc in accessors:
                acc.bufferView = view
        while len(self.data) % 4:
            self.data.append(0)
        self.gltf.buffers.append(G.Buffer(byteLength=len(self.data)))
        self.gltf.set_binary_blob(bytes(self.data))


def _children(parents: np.ndarray) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in parents]
    for b, p in enumerate(parents):
        if p >= 0:
            out[p].append(b)
    return out


def _stick_figure(clip: HumanoidClip) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (V, 3) in the rest pose, joint index per vertex (V,), triangle indices (F*3,)."""
    rest = skeleton.rest_positions(clip.parents, clip.rest_offsets)
    verts: list[np.ndarray] = []
    joints: list[int] = []
    tris: list[int] = []
    for b, p in enumerate(clip.parents):
        if p < 0:
            continue
        head, tail = rest[p], rest[b]
        axis = tail - head
        length = float(np.linalg.norm(axis))
        if length < 1e-6:
            continue
        axis = axis / length
        side = np.cross(axis, [0.0, 0.0, 1.0] if abs(axis[2]) < 0.9 else [1.0, 0.0, 0.0])
        side /= np.linalg.norm(side)
        up = np.cross(axis, side)
        mid = head + 0.2 * length * axis
        w = _SPINDLE_WIDTH * length
        base = len(verts)
        verts += [head, mid + w * side, mid + w * up, mid - w * side, mid - w * up, tail]
        # The spindle moves with the parent bone (the bone that spans head -> tail).
        joints += [p] * 6
        ring = [1, 2, 3, 4]
        for i in range(4):
            a, c = ring[i], ring[(i + 1) % 4]
            tris += [base, base + c, base + a, base + a, base + c, base + 5]
    return np.array(verts, np.float32), np.array(joints, np.uint16), np.array(tris, np.uint16)


def check_finite(clip: HumanoidClip) -> None:
    """Raise ValueError naming the first frame whose motion cannot be written (NaN, inf, zero quaternion)."""
    bad = ~np.isfinite(clip.hips).all(-1) | ~np.isfinite(clip.rotations).all((-2, -1))
    bad |= (np.linalg.norm(np.nan_to_num(clip.rotations), axis=-1) < 1e-6).any(-1)
    if bad.any():
        raise ValueError(f"clip {clip.name!r} has no valid pose at frame {int(np.argmax(bad))} "
                         f"({int(bad.sum())} of {clip.frame_count} frames): NaN, infinite or zero rotations")


def _normalized_quats(q: np.ndarray) -> np.ndarray:
    q32 = R.normalize(np.asarray(q, np.float64)).astype(np.float32)
    # Normalise again in float32 so the validator's unit-length check holds after rounding.
    return q32 / np.linalg.norm(q32, axis=-1, keepdims=True)


def _continuous(q: np.ndarray) -> np.ndarray:
    """Sign-flip keys (K, 4) so that each lies in the hemisphere of the one before (vectorised: a key's sign
    is the product of the dot-product signs of every step before it)."""
    step = np.where(np.sum(q[1:] * q[:-1], axis=-1) < 0, -1.0, 1.0)
    sign = np.concatenate([[1.0], np.cumprod(step)])
    return (q * sign[:, None]).astype(q.dtype)


def _with_ends(idx: np.ndarray, frames: int) -> np.ndarray:
    """Kept frames, always with the first and the last so every channel spans the whole clip."""
    return np.unique(np.concatenate([np.asarray(idx, np.int64).ravel(), [0, frames - 1]]))


def write_glb(clip: HumanoidClip, path: str | Path, keys: dict[str, np.ndarray] | None = None,
              mesh: bool = True) -> None:
    """Write `clip` as a .glb. keys: channel name ("Hips.t", "<Bone>.r") -> kept frame indices (the first and
    last frames are always kept). mesh: add the skinned stick figure (some engines, Unreal among them, import
    animation only together with a skeletal mesh)."""
    _document(clip, keys, mesh).save_binary(str(path))


def write_vrma(clip: HumanoidClip, path: str | Path, keys: dict[str, np.ndarray] | None = None) -> None:
    """Write `clip` as VRM Animation (.vrma): the glb's skeleton and animation, no mesh, each node named as a
    humanoid bone in the VRMC_vrm_animation extension, so that a VRM avatar plays it (vrm.py)."""
    from animgen_ml import vrm

    gltf = _document(clip, keys, mesh=False)
    gltf.extensions = vrm.animation_extension({name: b for b, name in enumerate(clip.bones)})
    gltf.extensionsUsed = [vrm.VRMA]
    gltf.save_binary(str(path))


def _document(clip: HumanoidClip, keys: dict[str, np.ndarray] | None, mesh: bool) -> G.GLTF2:
    """The glTF document (binary chunk attached) of write_glb."""
    T, B = clip.frame_count, len(clip.bones)
    if T < 1:
        raise ValueError("cannot write a glb of a clip with no frames")
    check_finite(clip)
    gltf = G.GLTF2(asset=G.Asset(generator=GENERATOR, version="2.0"))
    blob = _Blob(gltf)
    kids = _children(clip.parents)
    for b, name in enumerate(clip.bones):
        node = G.Node(name=name, translation=[float(v) for v in clip.rest_offsets[b]])
        node.children = kids[b] or []
        gltf.nodes.append(node)
    roots = [b for b in range(B) if clip.parents[b] < 0]

    # Inverse bind matrices: the rest pose has no rotation, so each is a pure translation by -(rest position).
    rest = skeleton.rest_positions(clip.parents, clip.rest_offsets)
    ibm = np.tile(np.eye(4, dtype=np.float32), (B, 1, 1))
    ibm[:, :3, 3] = -rest
    # glTF matrices are column-major: store the transpose row by row.
    ibm_acc = blob.add(ibm.transpose(0, 2, 1).reshape(B, 16), "MAT4", G.FLOAT, use="ibm")
    gltf.skins.append(G.Skin(name="HumanoidSkeleton", joints=list(range(B)), skeleton=roots[0],
                             inverseBindMatrices=ibm_acc))
    scene_nodes = list(roots)
    if mesh:
        verts, joints, tris = _stick_figure(clip)
        if len(tris):
            pos_acc = blob.add(verts, "VEC3", G.FLOAT, _ARRAY_BUFFER, min_max=True)
            j4 = np.zeros((len(joints), 4), np.uint16)
            j4[:, 0] = joints
            w4 = np.zeros((len(joints), 4), np.float32)
            w4[:, 0] = 1.0
            j_acc = blob.add(j4, "VEC4", G.UNSIGNED_SHORT, _ARRAY_BUFFER)
            w_acc = blob.add(w4, "VEC4", G.FLOAT, _ARRAY_BUFFER)
            i_acc = blob.add(tris, "SCALAR", G.UNSIGNED_SHORT, _ELEMENT_ARRAY_BUFFER)
            attrs = G.Attributes(POSITION=pos_acc, JOINTS_0=j_acc, WEIGHTS_0=w_acc)
            gltf.meshes.append(G.Mesh(name="StickFigure", primitives=[G.Primitive(attributes=attrs,
                                                                                  indices=i_acc)]))
            gltf.nodes.append(G.Node(name="StickFigure", mesh=0, skin=0))
            scene_nodes.append(len(gltf.nodes) - 1)
    gltf.scenes.append(G.Scene(name=clip.name, nodes=scene_nodes))
    gltf.scene = 0

    times = np.arange(T, dtype=np.float64) / clip.fps
    anim = G.Animation(name=clip.name, extras={"fps": float(clip.fps), "frames": int(T)})
    inputs: dict[bytes, int] = {}

    def channel(node: int, prop: str, key: str, values: np.ndarray, type_: str) -> None:
        idx = np.arange(T) if keys is None or key not in keys else _with_ends(keys[key], T)
        if idx.tobytes() not in inputs:
            inputs[idx.tobytes()] = blob.add(times[idx].astype(np.float32), "SCALAR", G.FLOAT, min_max=True)
        kept = values[idx]
        if prop == "rotation":  # same hemisphere key to key: importers that lerp components see no flips
            kept = _continuous(kept)
        out = blob.add(kept, type_, G.FLOAT)
        anim.samplers.append(G.AnimationSampler(input=inputs[idx.tobytes()], output=out, interpolation="LINEAR"))
        anim.channels.append(G.AnimationChannel(sampler=len(anim.samplers) - 1,
                                                target=G.AnimationChannelTarget(node=node, path=prop)))

    channel(roots[0], "translation", f"{clip.bones[roots[0]]}.t", clip.hips.astype(np.float32), "VEC3")
    quats = _normalized_quats(clip.rotations)
    for b, name in enumerate(clip.bones):
        channel(b, "rotation", f"{name}.r", quats[:, b], "VEC4")
    gltf.animations.append(anim)

    blob.finish()
    return gltf


def _sample_channel(times: np.ndarray, key_times: np.ndarray, values: np.ndarray, rotation: bool) -> np.ndarray:
    """Values of a LINEAR channel at `times` (slerp for rotations), clamped at both ends."""
    if len(key_times) == len(times) and np.allclose(key_times, times, atol=1e-6):
        return values.astype(np.float64)
    if not rotation:
        return np.stack([np.interp(times, key_times, values[:, c]) for c in range(values.shape[1])], -1)
    seg = np.clip(np.searchsorted(key_times, times, side="right") - 1, 0, len(key_times) - 1)
    nxt = np.minimum(seg + 1, len(key_times) - 1)
    span = np.maximum(key_times[nxt] - key_times[seg], 1e-12)
    u = np.clip((times - key_times[seg]) / span, 0.0, 1.0)
    return R.slerp(values[seg].astype(np.float64), values[nxt].astype(np.float64), u)


def read_glb_clip(path: str | Path) -> HumanoidClip:
    """Read back a .glb that write_glb wrote (or any glb whose bone nodes carry HumanBodyBones names):
    rest offsets from the node translations, motion from the first animation sampled on its frame grid.
    Contacts and confidence are not stored in glTF: they come back as False and 1."""
    gltf = G.GLTF2().load_binary(str(path))  # a .vrma too
    blob = gltf.binary_blob()

    def read(acc_index: int) -> np.ndarray:
        acc = gltf.accessors[acc_index]
        view = gltf.bufferViews[acc.bufferView]
        dtype = {G.FLOAT: np.float32, G.UNSIGNED_SHORT: np.uint16, G.UNSIGNED_INT: np.uint32}[acc.componentType]
        width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc.type]
        start = (view.byteOffset or 0) + (acc.byteOffset or 0)
        return np.frombuffer(blob, dtype, acc.count * width, start).reshape(acc.count, width)

    known = set(skeleton.ALL_BONES)
    bones = [n.name for n in gltf.nodes if n.name in known]
    if not bones or not all(n.name in known for n in gltf.nodes if n.mesh is None):
        raise ValueError(f"{path}: not an AnimGen HumanoidClip glb (nodes are not HumanBodyBones names)")
    node_of = {n.name: i for i, n in enumerate(gltf.nodes)}
    offsets = np.array([gltf.nodes[node_of[b]].translation or [0.0, 0.0, 0.0] for b in bones], np.float64)
    anim = gltf.animations[0]
    extras = anim.extras or {}
    fps = float(extras.get("fps", 30.0))
    channels = {}
    for ch in anim.channels:
        s = anim.samplers[ch.sampler]
        channels[(gltf.nodes[ch.target.node].name, ch.target.path)] = (read(s.input)[:, 0].astype(np.float64),
                                                                        read(s.output))
    end = max(float(kt[-1]) for kt, _ in channels.values())
    T = int(extras.get("frames", round(end * fps) + 1))
    times = np.arange(T, dtype=np.float64) / fps
    rot = R.identity((T, len(bones)))
    for b, name in enumerate(bones):
        if (name, "rotation") in channels:
            rot[:, b] = _sample_channel(times, *channels[(name, "rotation")], rotation=True)
    hips = np.tile(offsets[0], (T, 1))
    if (bones[0], "translation") in channels:
        hips = _sample_channel(times, *channels[(bones[0], "translation")], rotation=False)
    return HumanoidClip(bones=bones, rest_offsets=offsets, fps=fps, hips=hips, rotations=rot,
                        contacts=np.zeros((T, 2), bool), confidence=np.ones((T, len(bones))),
                        name=anim.name or "clip")
