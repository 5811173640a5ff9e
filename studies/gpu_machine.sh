#!/usr/bin/env bash
# The GPU machine's measurements in one command, for the device tool's short lease: `pytest -m
# cuda` (a minute; it checks the code before it is measured), then the gpu profile's configs named
# in MODELS (every rung the machine can run, its CPU's included, and the CPU's and GPU's peaks)
# into $OUT/<gpu-name>.parquet with the time left.
# Everything it prints goes to $OUT/<gpu-name>.log beside the machine's description, so that a
# run cut short still brings back what it finished (each config's rows are on disk as it ends).
#
#   OUT=<folder> VECBENCH_COMMIT=<commit> [MODELS="..."] bash studies/gpu_machine.sh [SECONDS]
#
# SECONDS (default 540): when to stop starting work; `bench run` is stopped there too. Without a
# GPU the GPU rungs are skipped, saying why, and the CPU rungs still run: how this script is
# tried on the CPU before device time is spent on it.
set -u
budget=${1:-540}
out=${OUT:?set OUT to the folder that receives the results}
mkdir -p "$out"
deadline=$((SECONDS + budget))
left() { echo $((deadline - SECONDS)); }
py=${PYTHON:-python3}
models=${MODELS:-mlp-tiny mlp-mnist resnet50-224@1 resnet50-224@256}
name=$("$py" -c "import torch; print(torch.cuda.get_device_name().lower().replace(' ', '-') if torch.cuda.is_available() else 'no-gpu')")
results="$out/$name.parquet"
log="$out/$name.log"
{
    echo "# $name: studies/gpu_machine.sh, commit ${VECBENCH_COMMIT:-unset}, budget ${budget} s"
    echo "## machine"
    date -u
    nvidia-smi 2>&1 || echo "no nvidia-smi"
    echo "cores: $(nproc)"
    free -g
    uptime
    "$py" -c "import sys, torch, numpy; print(sys.version.split()[0], 'torch', torch.__version__, 'numpy', numpy.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())"
} >"$log" 2>&1
echo "## pytest -m cuda" >>"$log"
start=$SECONDS
timeout "$(left)" "$py" -m pytest -m cuda -q -p no:cacheprovider >>"$log" 2>&1
echo "## pytest -m cuda: exit $?, $((SECONDS - start)) s" >>"$log"
echo "## bench run --profile gpu --models $models" >>"$log"
start=$SECONDS
# SIGINT: bench run keeps every finished case and says so
# shellcheck disable=SC2086  # MODELS is a list of config names
timeout --signal=INT "$(left)" "$py" -m bench run --profile gpu --models $models --out "$results" --no-progress >>"$log" 2>&1
echo "## bench run: exit $?, $((SECONDS - start)) s" >>"$log"
date -u >>"$log"
