import type { Config } from '../config/index.js';
import { MultiuserProvider, NoauthProvider } from './multiuser.js';
import type { MemberProvider } from './types.js';

/** Picks the configured member provider (contract §4). */
export function createMemberProvider(config: Config): MemberProvider {
  switch (config.member.provider) {
    case 'noauth':
      return new NoauthProvider();
    case 'multiuser':
      return new MultiuserProvider({
        userPassword: config.member.multiuser.user_password,
        adminPassword: config.member.multiuser.admin_password,
        userProfile: config.member.multiuser.user_profile,
        adminProfile: config.member.multiuser.admin_profile,
      });
    default:
      throw new Error(`member provider ${config.member.provider} is not available yet`);
  }
}
