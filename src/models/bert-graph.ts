/**
 * Builds a BERT sequence-classification graph (embeddings -> N encoder layers -> tanh pooler ->
 * linear classifier) as ONNX with onnx-proto. Used only to write the synthetic fixture: the
 * operators, shapes and FLOPs are those of the real exported model, so serving code, batching and
 * benchmarks run at the real cost. The weights come from the caller's generator.
 */
import onnxProto from 'onnx-proto';

import type { BertConfig } from './bert-config.js';
import type { NormalSource } from './prng.js';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

type Attr = number | number[] | { floatValue: number };

class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private counter = 0;

  private fresh(base: string): string {
    return `${base}_${this.counter++}`;
  }

  floatInit(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({
      name,
      dims,
      dataType: DT.FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  int64Init(values: number[], dims = [values.length]): string {
    const name = this.fresh('const_i64');
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({
      name,
      dims,
      dataType: DT.INT64,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  scalar(value: number): string {
    return this.floatInit(this.fresh('const_f32'), [], Float32Array.of(value));
  }

  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, name?: string): string {
    const output = name ?? this.fresh(type.toLowerCase());
    const attribute = Object.entries(attrs).map(([key, v]): onnxProto.onnx.IAttributeProto => {
      if (Array.isArray(v)) return { name: key, type: AT.INTS, ints: v };
      if (typeof v === 'object') return { name: key, type: AT.FLOAT, f: v.floatValue };
      return { name: key, type: AT.INT, i: v };
    });
    this.nodes.push({
      opType: type,
      input: inputs,
      output: [output],
      name: this.fresh(`n_${type}`),
      attribute,
    });
    return output;
  }
}

/** Random weights shaped like BERT's init: N(0, std) matrices, zero biases, unit LayerNorm gains. */
function weights(rng: NormalSource, std: number) {
  return {
    normal(count: number): Float32Array {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = rng() * std;
      return out;
    },
    zeros: (count: number) => new Float32Array(count),
    ones: (count: number) => new Float32Array(count).fill(1),
  };
}

export interface BertGraphOptions {
  config: BertConfig;
  rng: NormalSource;
  /** Standard deviation of the weight matrices; BERT's initializer_range is 0.02. */
  std?: number;
  /**
   * Standard deviation of the classifier head. With 0.02 the logits of a random model differ only
   * in the 4th decimal; 0.5 spreads them over about +-1, so sorting and score tests see real spread.
   */
  headStd?: number;
}

/** Returns the serialized ONNX model (opset 17 for LayerNormalization, IR 8). */
export function buildBertCrossEncoder({
  config,
  rng,
  std = 0.02,
  headStd = 0.5,
}: BertGraphOptions): Uint8Array {
  const c = config;
  const H = c.hiddenSize;
  const heads = c.numAttentionHeads;
  const headDim = H / heads;
  if (!Number.isInteger(headDim)) throw new Error('hidden size must be divisible by the number of heads');
  const w = weights(rng, std);
  const g = new GraphBuilder();
  const eps = { floatValue: c.layerNormEps };

  const layerNorm = (input: string, prefix: string): string =>
    g.op(
      'LayerNormalization',
      [
        input,
        g.floatInit(`${prefix}.weight`, [H], w.ones(H)),
        g.floatInit(`${prefix}.bias`, [H], w.zeros(H)),
      ],
      {
        axis: -1,
        epsilon: eps,
      },
    );
  const linear = (input: string, prefix: string, inDim: number, outDim: number): string => {
    const product = g.op('MatMul', [
      input,
      g.floatInit(`${prefix}.weight`, [inDim, outDim], w.normal(inDim * outDim)),
    ]);
    return g.op('Add', [product, g.floatInit(`${prefix}.bias`, [outDim], w.zeros(outDim))]);
  };

  // Embeddings: word + absolute position + token type, then LayerNorm.
  const wordEmb = g.floatInit(
    'embeddings.word_embeddings.weight',
    [c.vocabSize, H],
    w.normal(c.vocabSize * H),
  );
  const posEmb = g.floatInit(
    'embeddings.position_embeddings.weight',
    [c.maxPositionEmbeddings, H],
    w.normal(c.maxPositionEmbeddings * H),
  );
  const typeEmb = g.floatInit(
    'embeddings.token_type_embeddings.weight',
    [c.typeVocabSize, H],
    w.normal(c.typeVocabSize * H),
  );
  const words = g.op('Gather', [wordEmb, 'input_ids'], { axis: 0 });
  const seqLen = g.op('Gather', [g.op('Shape', ['input_ids']), g.int64Init([1], [])], { axis: 0 });
  const positionIds = g.op('Range', [g.int64Init([0], []), seqLen, g.int64Init([1], [])]);
  const positions = g.op('Gather', [posEmb, positionIds], { axis: 0 });
  const types = g.op('Gather', [typeEmb, 'token_type_ids'], { axis: 0 });
  let hidden = layerNorm(g.op('Add', [g.op('Add', [words, positions]), types]), 'embeddings.LayerNorm');

  // Additive attention mask [batch, 1, 1, seq]: 0 for tokens, a large negative number for padding,
  // so padded keys get exactly zero weight after the softmax (what makes scores padding-invariant).
  const maskFloat = g.op('Cast', ['attention_mask'], { to: DT.FLOAT });
  const maskAdd = g.op('Mul', [g.op('Sub', [g.scalar(1), maskFloat]), g.scalar(-10000)]);
  const mask4 = g.op('Unsqueeze', [maskAdd, g.int64Init([1, 2])]);
  const splitShape = g.int64Init([0, 0, heads, headDim]);
  const mergeShape = g.int64Init([0, 0, H]);
  const invSqrt = g.scalar(1 / Math.sqrt(headDim));
  const sqrtHalf = g.scalar(Math.SQRT1_2);

  for (let layer = 0; layer < c.numHiddenLayers; layer++) {
    const p = `encoder.layer.${layer}`;
    const split = (x: string, perm: number[]) =>
      g.op('Transpose', [g.op('Reshape', [x, splitShape])], { perm });
    const q = split(linear(hidden, `${p}.attention.self.query`, H, H), [0, 2, 1, 3]);
    const kT = split(linear(hidden, `${p}.attention.self.key`, H, H), [0, 2, 3, 1]);
    const v = split(linear(hidden, `${p}.attention.self.value`, H, H), [0, 2, 1, 3]);
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, kT]), invSqrt]), mask4]);
    const probs = g.op('Softmax', [scores], { axis: -1 });
    const context = g.op('Reshape', [
      g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }),
      mergeShape,
    ]);
    const attnOut = linear(context, `${p}.attention.output.dense`, H, H);
    const afterAttn = layerNorm(g.op('Add', [attnOut, hidden]), `${p}.attention.output.LayerNorm`);
    // Exact (erf) GELU, as BERT's "gelu": 0.5 * x * (1 + erf(x / sqrt(2))).
    const pre = linear(afterAttn, `${p}.intermediate.dense`, H, c.intermediateSize);
    const erf = g.op('Erf', [g.op('Mul', [pre, sqrtHalf])]);
    const gelu = g.op('Mul', [g.op('Mul', [pre, g.op('Add', [erf, g.scalar(1)])]), g.scalar(0.5)]);
    const ffnOut = linear(gelu, `${p}.output.dense`, c.intermediateSize, H);
    hidden = layerNorm(g.op('Add', [ffnOut, afterAttn]), `${p}.output.LayerNorm`);
  }

  // Pooler: tanh(dense(hidden[:, 0])) on the [CLS] position; classifier: one linear logit per label.
  const cls = g.op('Gather', [hidden, g.int64Init([0], [])], { axis: 1 });
  const pooled = g.op('Tanh', [linear(cls, 'pooler.dense', H, H)]);
  const product = g.op('MatMul', [
    pooled,
    g.floatInit('classifier.weight', [H, c.numLabels], weights(rng, headStd).normal(H * c.numLabels)),
  ]);
  g.op('Add', [product, g.floatInit('classifier.bias', [c.numLabels], w.zeros(c.numLabels))], {}, 'logits');

  const io = (name: string, elemType: number, dims: (string | number)[]): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'memvault models fixture',
    docString: 'Synthetic BERT cross-encoder with random weights: proves serving cost, not ranking quality.',
    graph: {
      name: 'bert_cross_encoder_fixture',
      node: g.nodes,
      initializer: g.initializers,
      input: ['input_ids', 'attention_mask', 'token_type_ids'].map((n) =>
        io(n, DT.INT64, ['batch', 'sequence']),
      ),
      output: [io('logits', DT.FLOAT, ['batch', c.numLabels])],
    },
  };
  const problem = onnx.ModelProto.verify(model);
  if (problem) throw new Error(`fixture graph is invalid: ${problem}`);
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish();
}
