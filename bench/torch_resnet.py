"""PyTorch peer of bench/resnet.ts on the same card: torchvision ResNet50 (fp32, TF32 off),
one sigmoid output, BCE-with-logits loss, Adam(lr 1e-4, eps 1e-7) as Keras uses; images/s
for inference and for one training step, medians of timed runs after warm-up. Prints
`summary backend=torch ...` lines that scripts/gpu-kit-run.sh puts beside tfjs-webgpu's.

    python3 bench/torch_resnet.py --configs 112:8,112:32 [--variant resnet50] [--steps 7] [--warmup 3]
"""
import argparse
import statistics
import time

import torch
import torchvision


def median_seconds(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        out = fn()
        out.float().sum().item()  # wait for the result, as the tfjs bench reads its output
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(variant, size, batch, steps, warmup):
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    model = getattr(torchvision.models, variant)(num_classes=1).cuda()
    x = torch.randn(batch, 3, size, size, device="cuda")
    y = (torch.arange(batch, device="cuda") % 2).float().unsqueeze(1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def infer():
        with torch.no_grad():
            return model(x)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    model.eval()
    t_inf = median_seconds(infer, steps, warmup)
    model.train()
    t_train = median_seconds(train_step, steps, warmup)
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}: {variant}@{size} batch {batch}: "
          f"inference {batch / t_inf:.1f} images/s ({t_inf * 1000:.1f} ms), training {batch / t_train:.1f} images/s ({t_train * 1000:.1f} ms/step)")
    print(f"summary backend=torch variant={variant} size={size} batch={batch} infer_ips={batch / t_inf:.1f} train_ips={batch / t_train:.1f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="112:8,112:32,112:64")
    ap.add_argument("--variant", default="resnet50")
    ap.add_argument("--steps", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    if a.variant.startswith("resnet-"):
        print(f"(torchvision has no {a.variant}; PyTorch peer skipped)")
        return
    for c in a.configs.split(","):
        size, batch = (int(v) for v in c.split(":"))
        bench(a.variant, size, batch, a.steps, a.warmup)


if __name__ == "__main__":
    main()
