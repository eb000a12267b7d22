/* SPDX-License-Identifier: MIT */
#pragma once

#include "ctx.h"

/* The bounded sweep run by ephemdir_new(): a few index-selected due entries,
 * never next-sweep ones, errors only logged. */
void sweep_lazy(ephemdir_ctx *ctx);
