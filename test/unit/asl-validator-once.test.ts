import validateOnce from 'asl-validator';
import validate from 'asl-validator/dist/src/validator.js';

/** A definition with nested States (a Parallel branch), where the validator adds QueryLanguage. */
const definition = () => ({
  StartAt: 'Both',
  States: {
    Both: {
      Type: 'Parallel',
      Branches: [{ StartAt: 'Wait', States: { Wait: { Type: 'Wait', Seconds: 1, End: true } } }],
      Next: 'Done',
    },
    Done: { Type: 'Succeed' },
  },
});

/** The test run's validator (mapped in jest.config.js) answers as asl-validator does. */
describe('asl-validator once per definition', () => {
  it('says valid, and leaves a valid definition as the validator does, on every call', () => {
    const expected = definition();
    expect(validate(expected).isValid).toBe(true);
    for (let call = 0; call < 3; call++) {
      const checked = definition();
      const result = validateOnce(checked);
      expect(result.isValid).toBe(true);
      expect(result.errorsText()).toBe('');
      expect(checked).toEqual(expected);
    }
  });

  it('refuses an invalid definition on every call, with the reason', () => {
    const invalid = { StartAt: 'Nowhere', States: { Done: { Type: 'Succeed' } } };
    const reason = validate(structuredClone(invalid)).errorsText();
    expect(reason).toMatch(/Nowhere/);
    for (let call = 0; call < 2; call++) {
      const result = validateOnce(structuredClone(invalid));
      expect(result.isValid).toBe(false);
      expect(result.errorsText()).toBe(reason);
    }
  });
});
