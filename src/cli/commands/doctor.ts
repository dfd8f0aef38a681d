export const summary = 'pre-deploy checks against DATABASE_URL';
export async function run(_args: string[]): Promise<number> {
  return 1;
}
