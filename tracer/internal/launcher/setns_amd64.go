package launcher

// sysSetns is setns(2), which the syscall package does not name here.
const sysSetns = 308
