// esbuild imports each named .graphql document as its text (see build.mjs).
declare module "*.graphql" {
  const document: string;
  export default document;
}
