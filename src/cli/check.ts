// bunker check: what this machine and user can do, one line each.
export default async function check(): Promise<number> {
  console.log("check: not yet implemented");
  return 0;
}
