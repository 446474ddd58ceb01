/** Changing settings goes through conf (atomic writes, schema check); reading stays in settings.ts. */
import { DevboxError } from '../util/errors.js';
import { configDir, SETTING_KEYS, settingValue, validateSetting, type SettingKey } from './settings.js';

export function asSettingKey(key: string): SettingKey {
  if (!(SETTING_KEYS as readonly string[]).includes(key)) {
    throw new DevboxError(`unknown setting "${key}"`, { fix: `settings are: ${SETTING_KEYS.join(', ')}` });
  }
  return key as SettingKey;
}

async function openConf() {
  const { default: Conf } = await import('conf');
  return new Conf<Record<string, unknown>>({ projectName: 'devbox', cwd: configDir(), configName: 'config' });
}

export async function setSetting(key: SettingKey, text: string): Promise<void> {
  const value = settingValue(key, text);
  const expected = validateSetting(key, value);
  if (expected) throw new DevboxError(`setting "${key}" must be ${expected}, not ${JSON.stringify(text)}`);
  (await openConf()).set(key, value);
}

export async function unsetSetting(key: SettingKey): Promise<void> {
  (await openConf()).delete(key);
}
