// Files embedded in the executable by `import x from "PATH" with { type: "file" }`
// (src/sys/shim.ts): the import is the file's path (in Bun's embedded
// filesystem once compiled).
declare module "*.so" {
  const path: string;
  export default path;
}
declare module "*/bunker-monitor" {
  const path: string;
  export default path;
}
