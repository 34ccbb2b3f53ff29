//! Windows: git runs in a Job Object of its own, so the time limit ends
//! its whole process tree (git-remote-https, ssh, credential helpers), as
//! `killpg` does on Unix. Killing git.exe alone leaves them holding its
//! stdout/stderr pipes, and the threads reading those would block until
//! they end by themselves.
//!
//! git starts suspended and runs only once it is in the job, so nothing it
//! starts can escape it.

use std::os::windows::io::AsRawHandle;
use std::process::Child;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Thread32First, Thread32Next, TH32CS_SNAPTHREAD, THREADENTRY32,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, TerminateJobObject,
};
use windows_sys::Win32::System::Threading::{OpenThread, ResumeThread, THREAD_SUSPEND_RESUME};

/// The creation flag git is started with (then [`Tree::adopt`] lets it run).
pub const START_SUSPENDED: u32 = windows_sys::Win32::System::Threading::CREATE_SUSPENDED;

/// A Job Object holding a process and everything it starts.
pub struct Tree(HANDLE);

// SAFETY: a job handle may be used and closed from any thread.
unsafe impl Send for Tree {}

impl Tree {
    /// Puts `child`, started with [`START_SUSPENDED`], into a new job, then
    /// lets it run. `None` when no job could be made or joined (our own job
    /// forbids it): the child still runs, and only it can be killed.
    pub fn adopt(child: &mut Child) -> Option<Tree> {
        // SAFETY: no security attributes, no name.
        let job = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        let tree = (!job.is_null()).then_some(Tree(job));
        let joined = tree.as_ref().is_some_and(|t| {
            // SAFETY: both handles are valid and owned (the child's by `child`).
            unsafe { AssignProcessToJobObject(t.0, child.as_raw_handle() as HANDLE) != 0 }
        });
        if resume(child.id()) == 0 {
            // never runs: do not wait for the time limit
            let _ = child.kill();
        }
        if joined {
            tree
        } else {
            None
        }
    }

    /// Ends every process in the job.
    pub fn kill(&self) {
        // SAFETY: a valid job handle.
        unsafe {
            TerminateJobObject(self.0, 1);
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        // SAFETY: closed once, here. Processes still in the job keep running.
        unsafe {
            CloseHandle(self.0);
        }
    }
}

/// Resumes the threads of process `pid` (a suspended new process has one);
/// how many were resumed.
fn resume(pid: u32) -> usize {
    let mut resumed = 0;
    // SAFETY: a snapshot handle, closed below; THREADENTRY32 is plain data
    // with its size set, as Thread32First requires.
    unsafe {
        let snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
        if snapshot == INVALID_HANDLE_VALUE {
            return 0;
        }
        let mut entry: THREADENTRY32 = std::mem::zeroed();
        entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
        let mut more = Thread32First(snapshot, &mut entry) != 0;
        while more {
            if entry.th32OwnerProcessID == pid {
                let thread = OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID);
                if !thread.is_null() {
                    if ResumeThread(thread) != u32::MAX {
                        resumed += 1;
                    }
                    CloseHandle(thread);
                }
            }
            more = Thread32Next(snapshot, &mut entry) != 0;
        }
        CloseHandle(snapshot);
    }
    resumed
}
