/** The people of the demo IdP. Any password is accepted. */
export interface DemoUser {
  username: string;
  name: string;
  email: string;
  groups: string[];
}

export const DEMO_USERS: readonly DemoUser[] = [
  { username: 'alice', name: 'Alice Example', email: 'alice@demo.test', groups: ['team-a', 'developers'] },
  { username: 'bob', name: 'Bob Example', email: 'bob@demo.test', groups: ['team-b'] },
];
