/** `model.summary()`: Keras' table of layers, output shapes and parameter counts. */
import type { Layer } from '../layers/layer.js';
import { formatShape } from '../tensor.js';

export function summaryTable(model: {
  layers: readonly Layer[];
  batchSize: number | undefined;
  countParams(): number;
}): string {
  const rows = model.layers.map((l) => [
    `${l.name} (${l.className})`,
    formatShape([model.batchSize ?? null, ...l.computeOutputShape(l.builtInputShape)]),
    String(l.countParams()),
  ]);
  const header = ['Layer (type)', 'Output shape', 'Param #'];
  const trainable = model.layers.reduce((sum, l) => sum + (l.trainable ? l.countParams() : 0), 0);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)) + 2);
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c] as number)).join('');
  const rule = '_'.repeat(widths.reduce((a, b) => a + b, 0));
  return [
    rule,
    line(header),
    rule.replace(/_/g, '='),
    ...rows.map(line),
    rule,
    `Total params: ${model.countParams()}`,
    `Trainable params: ${trainable}`,
    `Non-trainable params: ${model.countParams() - trainable}`,
    rule,
  ].join('\n');
}
