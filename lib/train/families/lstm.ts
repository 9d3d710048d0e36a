// The LSTM family: the recurrent family of rnn.ts with LSTM cells.
import { recurrentFamily } from './rnn.js';

export const lstm = recurrentFamily('lstm', 'LSTM LM, truncated BPTT (Zaremba et al. 2014 style)');
