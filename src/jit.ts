// The executable starts with JavaScriptCore's JIT reluctant to compile
// (Makefile: --compile-jit-policy): start-up code runs once, and compiling
// it cost more than it saved (run --rootfs ~8 % faster, state ~13 %).  Work
// that loops long (pulling, unpacking, saving images, the inflate worker)
// gets the normal JIT back first.
export function normalJit(): void {
  Bun.unsafe.setJITPolicy(1);
}
