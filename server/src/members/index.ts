import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import { openFileProvider } from './file.js';
import { MultiuserProvider, NoauthProvider } from './multiuser.js';
import { openObjectProvider } from './object.js';
import type { MemberProvider } from './types.js';

/** Opens the configured member provider (contract §4). */
export async function createMemberProvider(config: Config, logger: Logger): Promise<MemberProvider> {
  switch (config.member.provider) {
    case 'noauth':
      return new NoauthProvider(logger);
    case 'file':
      return openFileProvider({ path: config.member.file.path, hash: config.member.file.hash, logger });
    case 'object':
      return openObjectProvider(config.member.object.users, logger);
    case 'multiuser':
      return new MultiuserProvider({
        userPassword: config.member.multiuser.user_password,
        adminPassword: config.member.multiuser.admin_password,
        userProfile: config.member.multiuser.user_profile,
        adminProfile: config.member.multiuser.admin_profile,
        logger,
      });
  }
}
