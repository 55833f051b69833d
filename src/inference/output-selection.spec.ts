import { AppError } from '../shared/errors.js';
import { selectOutputs } from './output-selection.js';

const signature = [
  { name: 'y', dtype: 'float32', shape: ['N', '2'] },
  { name: 's', dtype: 'float32', shape: ['N'] },
  { name: 'z', dtype: 'int64', shape: ['N'] },
];

describe('selectOutputs', () => {
  it('means all outputs when absent, and puts a selection in signature order without duplicates', () => {
    expect(selectOutputs(signature, undefined)).toBeUndefined();
    expect(selectOutputs(signature, null)).toBeUndefined();
    expect(selectOutputs(signature, ['z', 's', 'z'])).toEqual(['s', 'z']);
    expect(selectOutputs(signature, ['z', 'y', 's'])).toBeUndefined();
  });

  it('refuses an empty list and names it does not know, listing the ones it has', () => {
    expect(() => selectOutputs(signature, [])).toThrow(/outputs is empty/);
    let err: unknown;
    try {
      selectOutputs(signature, ['y', 'logits']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('BAD_USER_INPUT');
    expect((err as AppError).message).toBe('no output named "logits"; the model\'s outputs are "y", "s", "z"');
  });
});
