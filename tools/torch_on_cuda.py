#!/usr/bin/env python3
"""Run a PyTorch bench script (default ../shared/bench/torch_pdiff.py) on the GPU, for tools/bench_compare.sh
with DEVICE=cuda:  python3 tools/torch_on_cuda.py SCRIPT [WORKLOAD...]

The script's tensors and modules are made on the GPU (torch.set_default_device), TF32 is off (pdiff's CUDA
backend computes in true float32), cuDNN picks its algorithms at the warm-up steps, and every timing the script
takes with its timeit() ends with a device synchronisation, so that queued kernels are counted."""
import importlib.util, sys, time
import torch

def main():
    if len(sys.argv) < 2:
        sys.exit("usage: torch_on_cuda.py SCRIPT [WORKLOAD...]")
    if not torch.cuda.is_available():
        sys.exit("torch_on_cuda.py: PyTorch sees no CUDA device")
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    torch.set_default_device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    spec = importlib.util.spec_from_file_location("torch_bench", script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    def timeit(fn, reps, warm=2):
        for _ in range(warm):
            fn()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        torch.cuda.synchronize()
        return (time.perf_counter() - t0) / reps

    bench.timeit = timeit
    print("# PyTorch %s on %s" % (torch.__version__, torch.cuda.get_device_name()), file=sys.stderr)
    bench.main()

if __name__ == "__main__":
    main()
