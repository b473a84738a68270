// SPDX-License-Identifier: Apache-2.0

#include "textflag.h"

// func currentMemoryPages() int32
TEXT ·currentMemoryPages(SB), NOSPLIT, $0-4
	Get SP
	CurrentMemory
	I32Store ret+0(FP)
	RET
