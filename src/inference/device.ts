/**
 * Chooses the execution device. `auto` picks CUDA only when an NVIDIA device node exists; the
 * worker still falls back to CPU (with the reason logged) when onnxruntime-node's CUDA provider
 * is not installed, which is the default install (package.json denies its install script;
 * docs/RERANK.md, "GPU").
 */
import { existsSync } from 'node:fs';

import type { Device } from './task.js';

export type DeviceRequest = 'auto' | Device;

export interface DeviceChoice {
  device: Device;
  reason: string;
}

export function chooseDevice(requested: DeviceRequest, probe: () => boolean = hasNvidiaDevice): DeviceChoice {
  if (requested === 'cpu') return { device: 'cpu', reason: 'requested cpu' };
  if (requested === 'cuda') return { device: 'cuda', reason: 'requested cuda' };
  return probe()
    ? { device: 'cuda', reason: 'auto: NVIDIA device present' }
    : { device: 'cpu', reason: 'auto: no NVIDIA device found (/dev/nvidia0)' };
}

function hasNvidiaDevice(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl');
}
