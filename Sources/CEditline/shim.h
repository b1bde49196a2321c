/* libedit's readline interface (Debian libedit-dev); it needs stdio's FILE first. */
#include <stdio.h>
#include <editline/readline.h>
