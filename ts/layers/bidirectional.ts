/**
 * Keras' `Bidirectional` wrapper around a GRU: a forward copy reads the
 * sequence as given, a backward copy (`goBackwards` flipped) reads it from the
 * end; their outputs, the backward one turned back into input order, are
 * merged by `mergeMode`. Weights: the forward layer's, then the backward's.
 */
import type { MergeMode, Ptr } from '../kernel/types.js';
import { type SampleShape, sizeOf } from '../tensor.js';
import { Gru } from './gru.js';
import { type Activation, checkInput, Layer, type LayerArgs, type Weight } from './layer.js';

export interface BidirectionalLayerArgs extends LayerArgs {
  layer: Gru;
  /** Default 'concat'. */
  mergeMode?: MergeMode;
}

const MODES: readonly MergeMode[] = ['concat', 'sum', 'mul', 'ave'];

export class Bidirectional extends Layer {
  readonly className = 'Bidirectional';
  readonly forwardLayer: Gru;
  readonly backwardLayer: Gru;
  readonly mergeMode: MergeMode;
  /** The wrapped layer's own name, which its copies' names extend. */
  readonly innerName: string;
  private saved: { a: Activation; b: Activation; batch: number; steps: number } | undefined;

  constructor(args: BidirectionalLayerArgs) {
    super(args, 'bidirectional');
    if (!(args.layer instanceof Gru)) throw new Error('bidirectional: `layer` must be a GRU layer');
    if (args.layer.built)
      throw new Error('bidirectional: `layer` must not be built (added to a model) already');
    if (args.layer.stateful)
      throw new Error('bidirectional: a stateful GRU cannot be wrapped (not supported)');
    this.mergeMode = args.mergeMode ?? 'concat';
    if (!MODES.includes(this.mergeMode)) {
      throw new Error(`bidirectional: unknown mergeMode '${this.mergeMode}' (expected ${MODES.join(', ')})`);
    }
    this.innerName = args.layer.name;
    const inner = { ...args.layer.args, inputShape: undefined };
    this.forwardLayer = new Gru({ ...inner, name: `${this.name}/forward_${args.layer.name}` });
    this.backwardLayer = new Gru({
      ...inner,
      name: `${this.name}/backward_${args.layer.name}`,
      goBackwards: !args.layer.config.goBackwards,
    });
  }

  computeOutputShape(inputShape: SampleShape): SampleShape {
    const inner = this.forwardLayer.computeOutputShape(inputShape);
    const units = inner[inner.length - 1] as number;
    return [...inner.slice(0, -1), this.mergeMode === 'concat' ? 2 * units : units];
  }

  paramCountFor(inputShape: SampleShape): number {
    return 2 * this.forwardLayer.paramCountFor(inputShape);
  }

  protected createWeights(inputShape: SampleShape): void {
    this.forwardLayer.build(this.kernel, inputShape, this.weightSource);
    this.backwardLayer.build(this.kernel, inputShape, this.weightSource);
  }

  override weights(): readonly Weight[] {
    return [...this.forwardLayer.weights(), ...this.backwardLayer.weights()];
  }

  private dims(batch: number, steps: number) {
    const returnSequences = this.forwardLayer.config.returnSequences;
    return {
      batch,
      steps: returnSequences ? steps : 1,
      units: this.forwardLayer.units,
      // The backward layer's sequence comes last step first.
      reverseB: returnSequences,
    };
  }

  forward(input: Activation, training: boolean): Activation {
    checkInput(this, input);
    const [batch, steps] = input.shape as [number, number, number];
    const a = this.forwardLayer.forward(input, training);
    const b = this.backwardLayer.forward(input, training);
    const shape = this.outputShapeFor(input.shape);
    const out = this.buffer('output', sizeOf(shape));
    this.kernel.mergeForward(this.mergeMode, this.dims(batch, steps), { a: a.ptr, b: b.ptr, out });
    this.saved = training ? { a, b, batch, steps } : undefined;
    return { ptr: out, shape, mask: a.mask };
  }

  backward(dOutput: Ptr, needInputGrad: boolean): Ptr | undefined {
    if (!this.saved) throw new Error(`bidirectional ${this.name}: backward without a training forward`);
    const { a, b, batch, steps } = this.saved;
    const dA = this.buffer('dA', sizeOf(a.shape));
    const dB = this.buffer('dB', sizeOf(b.shape));
    this.kernel.mergeBackward(this.mergeMode, this.dims(batch, steps), {
      a: a.ptr,
      b: b.ptr,
      dOut: dOutput,
      dA,
      dB,
    });
    const dxForward = this.forwardLayer.backward(dA, needInputGrad);
    const dxBackward = this.backwardLayer.backward(dB, needInputGrad);
    if (!needInputGrad || dxForward === undefined || dxBackward === undefined) return undefined;
    const features = this.builtInputShape[this.builtInputShape.length - 1] as number;
    const dX = this.buffer('dX', batch * steps * features);
    this.kernel.add(dxForward, dxBackward, dX);
    return dX;
  }

  override randomPositions(): number[] {
    return [...this.forwardLayer.randomPositions(), ...this.backwardLayer.randomPositions()];
  }

  override restoreRandomPositions(positions: readonly number[]): void {
    this.forwardLayer.restoreRandomPositions(positions.slice(0, 1));
    this.backwardLayer.restoreRandomPositions(positions.slice(1, 2));
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name, mergeMode: this.mergeMode, layer: this.forwardLayer.getConfig() };
  }

  override dispose(): void {
    this.forwardLayer.dispose();
    this.backwardLayer.dispose();
    super.dispose();
  }
}
