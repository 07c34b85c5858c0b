export { program } from './program.js'
export { Lab, startLab, NODE_FLAGS, type LabOptions, type LabEndpoints } from './lab.js'
export { runGet, parseHeaders, credentialsToHeader, EXIT, DEFAULT_API, type GetOptions } from './get.js'
export { writeContainerdHosts, type DfinitOptions } from './dfinit.js'
