// bunker's own version: `bunker --version` and the Engine API's /version say the same.
export const VERSION = "0.1.0";
