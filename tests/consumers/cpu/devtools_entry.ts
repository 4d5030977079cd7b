// DevTools' own CPU profile model (the one the Performance and JavaScript Profiler panels
// build from a .cpuprofile), bundled for Node by esbuild.
export {CPUProfileDataModel} from 'chrome-devtools-frontend/front_end/models/cpu_profile/CPUProfileDataModel.ts';
