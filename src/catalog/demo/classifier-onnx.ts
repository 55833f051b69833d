// Writes a trained classifier as ONNX with the project's model builder.
import { OnnxModelBuilder } from '../../inference/onnx-model-builder.js';
import type { TrainedClassifier } from './classifier-training.js';

/** The outputs every demo classifier has, by name. */
export const CLASSIFIER_OUTPUTS = { probabilities: 'probabilities', label: 'label' } as const;

/**
 * `input` float32 [batch, features] → standardize → Gemm (→ Relu → Gemm …) → logits;
 * `probabilities` = Softmax(logits) float32 [batch, classes], `label` = ArgMax(logits) int64 [batch].
 */
export function buildClassifierOnnx(
  model: TrainedClassifier,
  options: { graphName: string; inputName: string; docString?: string },
): Uint8Array {
  const { inputName } = options;
  const nIn = model.mean.length;
  const b = new OnnxModelBuilder({ graphName: options.graphName, docString: options.docString })
    .input(inputName, 'float32', ['batch', nIn])
    .output(CLASSIFIER_OUTPUTS.probabilities, 'float32', ['batch', model.classes])
    .output(CLASSIFIER_OUTPUTS.label, 'int64', ['batch'])
    .floatInitializer('input.mean', [nIn], model.mean)
    .floatInitializer('input.inv_std', [nIn], model.invStd)
    .node('Sub', [inputName, 'input.mean'], ['centered'], {}, 'standardize.sub')
    .node('Mul', ['centered', 'input.inv_std'], ['standardized'], {}, 'standardize.mul');
  let current = 'standardized';
  model.layers.forEach((layer, i) => {
    const n = i + 1;
    const last = i + 1 === model.layers.length;
    b.floatInitializer(`fc${n}.weight`, [layer.outFeatures, layer.inFeatures], layer.weight);
    b.floatInitializer(`fc${n}.bias`, [layer.outFeatures], layer.bias);
    const out = last ? 'logits' : `fc${n}.out`;
    b.node('Gemm', [current, `fc${n}.weight`, `fc${n}.bias`], [out], { transB: { int: 1 } }, `fc${n}`);
    if (!last) b.node('Relu', [out], [`relu${n}.out`], {}, `relu${n}`);
    current = last ? out : `relu${n}.out`;
  });
  return b
    .node('Softmax', ['logits'], [CLASSIFIER_OUTPUTS.probabilities], { axis: { int: 1 } }, 'softmax')
    .node('ArgMax', ['logits'], [CLASSIFIER_OUTPUTS.label], { axis: { int: 1 }, keepdims: { int: 0 } }, 'argmax')
    .toBytes();
}
