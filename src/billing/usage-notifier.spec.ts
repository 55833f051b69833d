import { UsageNotifier } from './usage-notifier.js';

describe('UsageNotifier', () => {
  it('coalesces a burst per consumer into one trailing event per window', async () => {
    const sent: string[] = [];
    const n = new UsageNotifier({ publish: async (_t, key) => void sent.push(key) }, 30);
    for (let i = 0; i < 100; i++) n.notify('a');
    n.notify('b');
    expect(sent).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    expect(sent.sort()).toEqual(['a', 'b']);
    n.notify('a');
    await n.flush();
    expect(sent.filter((k) => k === 'a')).toHaveLength(2);
  });
});
