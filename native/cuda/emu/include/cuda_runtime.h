// Stand-in for the CUDA toolkit's <cuda_runtime.h> in the emulated build (g++ + HIP-CPU):
// the CUDA runtime names lmkit uses, mapped onto HIP-CPU by ../cuda_on_hip.h.
#pragma once
#include "../cuda_on_hip.h"
