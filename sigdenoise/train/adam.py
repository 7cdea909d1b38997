"""Adam on one flat parameter tensor, the optimiser of the stacked engine."""

from __future__ import annotations

from functools import lru_cache

import torch


@lru_cache(maxsize=None)
def fused_adam_on(device_type: str) -> bool:
    """Whether torch's fused Adam kernel runs on this device type: tried once on a one-element
    tensor. torch 2.2-2.3 have `_fused_adam_` with a CUDA kernel only (the package accepts
    torch>=2.2), so its presence alone does not say that CPU can use it."""
    if device_type not in ("cpu", "cuda") or not hasattr(torch, "_fused_adam_"):
        return False
    try:
        p, g, m, v = (torch.zeros(1, device=device_type) for _ in range(4))
        torch._fused_adam_([p], [g], [m], [v], [], [torch.zeros((), device=device_type)], amsgrad=False, lr=1e-3,
                           beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8, maximize=False)  # fmt: skip
        return True
    except (RuntimeError, NotImplementedError):
        return False


class FlatAdam:
    """Adam on one flat tensor: aten's fused kernel (one call a step) where PyTorch has it, else
    the arithmetic of torch.optim.Adam's single-tensor path, which `train_single` runs on CPU
    (7 kernels; bit-equal to it). Not torch.optim.Adam itself: building one imports
    torch._dynamo, seconds of start-up that the grid would pay once per run."""

    def __init__(self, param: torch.Tensor, grad: torch.Tensor, lr: float, betas=(0.9, 0.999), eps: float = 1e-8,
                 fused: bool | None = None):  # fmt: skip
        self.p, self.g, self.lr, self.betas, self.eps = param, grad, lr, betas, eps
        self.m, self.v, self.den = torch.zeros_like(param), torch.zeros_like(param), torch.empty_like(param)
        self.t, self.step_t = 0, torch.zeros((), dtype=torch.float32, device=param.device)
        self.fused = fused_adam_on(param.device.type) if fused is None else fused

    def step(self, grad: torch.Tensor | None = None) -> None:
        """One Adam step with `grad` (P,), default the tensor given at construction."""
        g = self.g if grad is None else grad
        b1, b2 = self.betas
        self.t += 1
        if self.fused:  # 2x faster than the 7 kernels below on CPU (benchmarks/README.md)
            self.step_t.add_(1)
            torch._fused_adam_([self.p], [g], [self.m], [self.v], [], [self.step_t], amsgrad=False, lr=self.lr,
                               beta1=b1, beta2=b2, weight_decay=0.0, eps=self.eps, maximize=False)  # fmt: skip
            return
        self.m.lerp_(g, 1 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
        torch.sqrt(self.v, out=self.den).div_((1 - b2**self.t) ** 0.5).add_(self.eps)
        self.p.addcdiv_(self.m, self.den, value=-self.lr / (1 - b1**self.t))
