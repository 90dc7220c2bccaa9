"""The generator's network in torch, for training: the temporal convolutional net, its 6-D rotation and FK helpers,
and the export to the plain arrays that model.py runs with numpy (so that inference never imports torch).

Dilated 1-D convolutions (dilations 1, 3, 9, 27 with kernel 3: an 81-frame receptive field, centred) run over a
whole clip in one pass; the inputs and outputs are described in model.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypedDict, cast

import numpy as np
import torch
from torch import nn

from animgen_ml.errors import InputError
from animgen_ml.model import BONES, N_FEATURES, N_OUT, PARENTS


class NetConfig(TypedDict):
    """A network size (CONFIGS). Weights files keep it, with its name, in info["config"] (dilations as a list)."""
    channels: int
    dilations: Sequence[int]
    dropout: float


CONFIGS: dict[str, NetConfig] = {
    "small": {"channels": 128, "dilations": (1, 3, 9, 27), "dropout": 0.1},
    "tiny": {"channels": 64, "dilations": (1, 3, 9, 27), "dropout": 0.0},
}
# Output offsets and scales, so that training starts from the rest pose with its feet on the floor, with velocities
# in metres per frame. export() folds them into the output layer.
ROT6_BIAS = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)  # columns x and y of the identity
VELOCITY_SCALE = 0.05


class Block(nn.Module):
    def __init__(self, ch: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(ch, ch, 3, dilation=dilation, padding=dilation, padding_mode="replicate")
        self.mix = nn.Conv1d(ch, ch, 1)
        self.norm = nn.BatchNorm1d(ch)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.mix(torch.relu(self.norm(self.conv(x)))))


class TemporalNet(nn.Module):
    def __init__(self, channels: int = 256, dilations: tuple[int, ...] = (1, 3, 9, 27), dropout: float = 0.1):
        super().__init__()
        self.dilations = tuple(dilations)
        self.inp = nn.Conv1d(N_FEATURES, channels, 1)
        self.blocks = nn.Sequential(*[Block(channels, d, dropout) for d in dilations])
        self.out = nn.Conv1d(channels, N_OUT, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x: (N, T, F) -> rot6 (N, T, B, 6), clearance (N, T), velocity (N, T, 2), contact logits (N, T, 2)."""
        h = self.out(self.blocks(torch.relu(self.inp(x.transpose(1, 2))))).transpose(1, 2)
        N, T = h.shape[:2]
        B = len(BONES)
        rot6 = h[..., : B * 6].reshape(N, T, B, 6) + torch.tensor(ROT6_BIAS, dtype=h.dtype)
        return {"rot6": rot6, "clearance": h[..., B * 6],
                "velocity": VELOCITY_SCALE * h[..., B * 6 + 1: B * 6 + 3], "contact_logits": h[..., B * 6 + 3:]}


def _unit(v: torch.Tensor) -> torch.Tensor:
    # Written out: torch's normalize (a vector norm) costs more than this on many small vectors, backward included.
    return v / (v * v).sum(-1, keepdim=True).sqrt().clamp_min(1e-12)


def rot6_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) rotation matrices whose first two columns follow d6 (Gram-Schmidt)."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = _unit(a1)
    b2 = _unit(a2 - (b1 * a2).sum(-1, keepdim=True) * b1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def _chains() -> torch.Tensor:
    """(B, B - 1): entry (b, e - 1) is 1 where bone e is b or one of its ancestors below the Hips, so that a
    bone's position is this row times the rotated offsets of bones 1..B-1."""
    out = torch.zeros(len(BONES), len(BONES) - 1)
    for b in range(1, len(BONES)):
        e = b
        while e > 0:
            out[b, e - 1] = 1.0
            e = int(PARENTS[e])
    return out


_CHAINS = _chains()


def fk_torch(world: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Joint positions relative to the Hips (N, T, B, 3) from WORLD rotation matrices (N, T, B, 3, 3) and
    rest offsets (N, B, 3): every bone's offset turned by its parent's rotation in one product, then summed
    along each chain (one product again, rather than a loop over bones)."""
    turned = (world[..., PARENTS[1:].tolist(), :, :] @ offsets[:, None, 1:, :, None])[..., 0]
    return torch.einsum("be,ntec->ntbc", _CHAINS.to(turned.dtype), turned)


def build(config: str | NetConfig) -> TemporalNet:
    cfg = CONFIGS[config] if isinstance(config, str) else config
    return TemporalNet(cfg["channels"], tuple(cfg["dilations"]), cfg["dropout"])


def export(net: TemporalNet) -> dict[str, np.ndarray]:
    """The network in inference form, as float32 arrays for model.forward: each layer as (in, out) matrices,
    batch norm folded into the convolution before it, the output offsets and scales into the output layer."""
    net = net.eval()

    def arr(t: torch.Tensor | None) -> np.ndarray:
        assert t is not None  # every layer here has its bias, every batch norm its running statistics
        return t.detach().double().numpy()

    p: dict[str, np.ndarray] = {"dilations": np.array(net.dilations, dtype=np.int64),
                                "inp.w": arr(net.inp.weight[..., 0]).T, "inp.b": arr(net.inp.bias)}
    for i, blk in enumerate(cast("Iterable[Block]", net.blocks)):
        bn = blk.norm
        scale = arr(bn.weight) / np.sqrt(arr(bn.running_var) + bn.eps)
        p[f"block{i}.taps"] = np.stack([arr(blk.conv.weight[..., k]).T * scale for k in range(3)])
        p[f"block{i}.b"] = (arr(blk.conv.bias) - arr(bn.running_mean)) * scale + arr(bn.bias)
        p[f"block{i}.mix.w"] = arr(blk.mix.weight[..., 0]).T
        p[f"block{i}.mix.b"] = arr(blk.mix.bias)
    B = len(BONES)
    w, b = arr(net.out.weight[..., 0]).T, arr(net.out.bias)
    b[: B * 6] += np.tile(ROT6_BIAS, B)
    w[:, B * 6 + 1: B * 6 + 3] *= VELOCITY_SCALE
    b[B * 6 + 1: B * 6 + 3] *= VELOCITY_SCALE
    p["out.w"], p["out.b"] = w, b
    return {k: v if k == "dilations" else v.astype(np.float32) for k, v in p.items()}


def from_export(params: dict[str, np.ndarray], config: NetConfig) -> TemporalNet:
    """The inverse of export, for fine-tuning shipped weights: a TemporalNet that computes what model.forward
    computes with `params`. Batch norm, folded away by export, comes back as the identity (zero mean, unit
    variance); keep it in eval mode while fine-tuning (freeze_norm) so that it stays so."""
    net = build(config)
    B = len(BONES)
    w, b = params["out.w"].astype(np.float64), params["out.b"].astype(np.float64)
    w[:, B * 6 + 1: B * 6 + 3] /= VELOCITY_SCALE
    b[B * 6 + 1: B * 6 + 3] /= VELOCITY_SCALE
    b[: B * 6] -= np.tile(ROT6_BIAS, B)

    def put(t: torch.Tensor | None, a: np.ndarray) -> None:
        assert t is not None  # as in export
        with torch.no_grad():
            t.copy_(torch.as_tensor(np.asarray(a, dtype=np.float64)).reshape(t.shape))

    if list(params["dilations"]) != list(net.dilations) or params["inp.w"].shape[1] != net.inp.out_channels:
        raise InputError(f"weights of dilations {list(params['dilations'])} and {params['inp.w'].shape[1]} "
                         f"channels do not fit the config {config}")
    put(net.inp.weight, params["inp.w"].T)
    put(net.inp.bias, params["inp.b"])
    for i, blk in enumerate(cast("Iterable[Block]", net.blocks)):
        put(blk.conv.weight, np.stack([params[f"block{i}.taps"][k].T for k in range(3)], axis=-1))
        put(blk.conv.bias, params[f"block{i}.b"])
        put(blk.mix.weight, params[f"block{i}.mix.w"].T)
        put(blk.mix.bias, params[f"block{i}.mix.b"])
        bn = blk.norm
        put(bn.running_mean, np.zeros(bn.num_features))
        put(bn.running_var, np.full(bn.num_features, 1.0 - bn.eps))  # so that 1 / sqrt(var + eps) is 1
        put(bn.weight, np.ones(bn.num_features))
        put(bn.bias, np.zeros(bn.num_features))
    put(net.out.weight, w.T)
    put(net.out.bias, b)
    return net


def freeze_norm(net: TemporalNet) -> None:
    """Batch norm layers to eval mode (their running statistics fixed), the rest as it is."""
    for m in net.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.eval()


def save(net: TemporalNet, path: str | Path, info: dict) -> None:
    """Weights file for model.load_file: the exported arrays and the info (JSON) in one .npz."""
    from animgen_ml.files import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, info=np.array(json.dumps(info)), **export(net))
