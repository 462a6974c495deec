// The page's entry: Monaco's workers first (they must be registered before any editor
// starts), then GraphiQL filling the whole window.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './index.css';

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from './App';

const root = document.getElementById('graphiql');
if (!root) throw new Error('index.html has no #graphiql element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
