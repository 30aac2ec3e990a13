//! # calf-scheduler: the runtime around the VM
//!
//! Owns processes and their hosts: it runs a process's VM for a reduction
//! budget and carries out the effects the VM returns.
