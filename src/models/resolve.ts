/**
 * Turns a model setting (RERANK_MODEL, MEMVAULT_EMBED_MODEL) into a local folder: either a path, or
 * a Hugging Face model id downloaded once into a cache folder. Downloads happen only when a model
 * id is configured and the cache lacks it; offline, the error says how to supply a local folder.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { coerceError, MemvaultError } from '../errors.js';
import { log } from '../log.js';
import { writeDirAtomically } from './atomic-dir.js';
import { locateModelFiles, type ModelFiles, onnxCandidates } from './model-files.js';

export class ModelUnavailableError extends MemvaultError {
  constructor(message: string, cause?: unknown) {
    super('model_unavailable', message, { cause });
  }
}

export interface ResolveOptions {
  quantized?: boolean;
  cacheDir?: string;
  /** Hub base URL; HF_ENDPOINT-compatible. */
  endpoint?: string;
  /** Per-file download timeout. */
  timeoutMs?: number;
  /** Which variable configured the model, for error messages. */
  variable?: string;
  fetchImpl?: typeof fetch;
}

const HF_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;
const REQUIRED = ['config.json', 'tokenizer.json'];
const OPTIONAL = ['tokenizer_config.json', 'special_tokens_map.json'];

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.MEMVAULT_MODEL_CACHE ?? path.join(os.homedir(), '.cache', 'memvault', 'models');
}

export function isModelId(spec: string): boolean {
  return HF_ID.test(spec) && !spec.startsWith('.') && !existsSync(spec);
}

export interface ModelCacheOptions {
  /** Default: MEMVAULT_MODEL_CACHE, else ~/.cache/memvault/models. */
  cacheDir?: string;
  quantized?: boolean;
}

/** The folder a model id downloads into: `<org>--<name>`, with `--quantized` for that variant. */
function cacheTarget(id: string, cacheDir: string, quantized: boolean): string {
  const base = path.join(cacheDir, id.replace('/', '--'));
  return quantized ? `${base}--quantized` : base;
}

/**
 * Where the cache already holds model id `id` in the requested variant, or undefined when
 * resolveModel would have to download it. A full download (the base folder) serves the quantized
 * variant too when it holds model_quantized.onnx.
 */
export function cachedModelDir(id: string, options: ModelCacheOptions = {}): string | undefined {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const quantized = options.quantized ?? false;
  const base = cacheTarget(id, cacheDir, false);
  if (quantized && existsSync(base) && holdsVariant(base, quantized)) return base;
  const target = cacheTarget(id, cacheDir, quantized);
  return existsSync(target) ? target : undefined;
}

function holdsVariant(dir: string, quantized: boolean): boolean {
  try {
    locateModelFiles(dir, { quantized });
    return true;
  } catch {
    return false;
  }
}

export async function resolveModel(spec: string, options: ResolveOptions = {}): Promise<ModelFiles> {
  const quantized = options.quantized ?? false;
  if (!isModelId(spec)) return locateModelFiles(path.resolve(spec), { quantized });
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  // A cached folder that lacks files is reported (locateModelFiles), not downloaded over.
  const cached = cachedModelDir(spec, { cacheDir, quantized });
  if (cached) return locateModelFiles(cached, { quantized });
  const target = cacheTarget(spec, cacheDir, quantized);
  await downloadModel(spec, target, { ...options, quantized });
  return locateModelFiles(target, { quantized });
}

async function downloadModel(
  id: string,
  target: string,
  options: ResolveOptions & { quantized: boolean },
): Promise<void> {
  const endpoint = (
    options.endpoint ??
    process.env.MEMVAULT_HF_ENDPOINT ??
    process.env.HF_ENDPOINT ??
    'https://huggingface.co'
  ).replace(/\/$/, '');
  const fetchImpl = options.fetchImpl ?? fetch;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const variable = options.variable ?? 'RERANK_MODEL';
  const get = async (file: string): Promise<Uint8Array | undefined> => {
    const response = await fetchImpl(`${endpoint}/${id}/resolve/main/${file}`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${file}`);
    return new Uint8Array(await response.arrayBuffer());
  };
  log.info({ model: id, endpoint }, 'downloading model into the cache');
  try {
    await writeDirAtomically(target, async (tmp) => {
      const save = async (file: string, bytes: Uint8Array): Promise<void> => {
        await mkdir(path.dirname(path.join(tmp, file)), { recursive: true });
        await writeFile(path.join(tmp, file), bytes);
      };
      for (const file of [...REQUIRED, ...OPTIONAL]) {
        const bytes = await get(file);
        if (bytes) await save(file, bytes);
        else if (REQUIRED.includes(file)) throw new Error(`${file} not found in ${id}`);
      }
      for (const file of onnxCandidates(options.quantized)) {
        const bytes = await get(file);
        if (bytes) return save(file, bytes);
      }
      throw new Error(`${id} has no ${onnxCandidates(options.quantized).join(' or ')}`);
    });
  } catch (thrown) {
    const reason = coerceError(thrown);
    const cause = reason.cause instanceof Error ? `: ${reason.cause.message}` : '';
    const why =
      reason.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : `${reason.message}${cause}`;
    throw new ModelUnavailableError(
      `${variable}: could not download model '${id}' from ${endpoint} (${why}). ` +
        `On an offline machine, copy a model folder (config.json, tokenizer.json, tokenizer_config.json, ` +
        `onnx/model.onnx) onto it and set ${variable} to that folder's path` +
        (variable === 'RERANK_MODEL'
          ? `, or write a synthetic test model with 'memvault models fixture <dir>'.`
          : '.'),
      thrown,
    );
  }
}
