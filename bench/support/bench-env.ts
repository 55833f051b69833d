// Benchmarks run servers on throwaway databases made by the test harness (test/support), which
// refuses to create or drop databases outside NODE_ENV=test. Import this first in a scenario.
process.env.NODE_ENV = 'test';
