// Module resolution hooks (see block-aws-sdk.mjs).
export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith("@aws-sdk/")) {
    const error = new Error(`Cannot find package '${specifier}' (blocked by the test)`);
    error.code = "ERR_MODULE_NOT_FOUND";
    throw error;
  }
  return nextResolve(specifier, context);
}
