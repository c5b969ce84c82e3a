/**
 * integ-runner's entry (see README "Operating on AWS" → "Checks on a real account"):
 *   npx integ-runner --directory test/integ --app 'npx tsx {filePath}' --update-on-failed
 */
import { agentJourneyApp } from './agent-journey-app.js';

agentJourneyApp().app.synth();
