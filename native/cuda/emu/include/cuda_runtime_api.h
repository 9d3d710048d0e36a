// Stand-in for the CUDA toolkit's <cuda_runtime_api.h> in the emulated build (see cuda_runtime.h).
#pragma once
#include "../cuda_on_hip.h"
