/* test_lock.c — one writer per session: session_open with create takes dir/.lock and names its owner, a second
 * writer (another pd_session, or a job of the TUI) is refused with that name, readers are not; the lock goes with
 * session_free; the temporaries of killed writers are removed when a writer opens the session; an empty session
 * path is refused. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "config.h"
#include "job.h"
#include "pipeline.h"
#include "session.h"
#include "tap.h"

static void touch(const char *path)
{
    FILE *fp = fopen(path, "w");
    if (fp)
        fclose(fp);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_tmp_names(void)
{
    tap_ok(atomic_tmp_pid(".config.csv.tmp.1234") == 1234 && atomic_tmp_pid(".a.tmp.b.tmp.77") == 77,
           "atomic_tmp_pid reads the pid of a temporary name");
    tap_ok(atomic_tmp_pid("config.csv.tmp.12") == 0 && atomic_tmp_pid(".config.csv.tmp.") == 0 &&
               atomic_tmp_pid(".x.tmp.12a") == 0 && atomic_tmp_pid("..tmp.12") == 0 && atomic_tmp_pid(".lock") == 0 &&
               atomic_tmp_pid(".x.tmp.99999999999999999999") == 0 && atomic_tmp_pid("") == 0,
           "atomic_tmp_pid: 0 for every other name");
}

static void test_empty_path(void)
{
    pd_session *s = (pd_session *)(void *)&s;
    pd_error err = {0};
    pd_status st = session_open(&s, "", 1, &err);
    tap_ok(st == PD_ERR_IO && !s && strstr(err.msg, "empty"),
           "session_open refuses an empty folder path: %s", err.msg);
    tap_ok(!session_exists("") && !session_exists(NULL), "session_exists: an empty path is no session");
}

static void test_two_writers(void)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", tap_path("two"));
    pd_error err = {0};
    pd_session *a = NULL, *b = NULL, *r = NULL;
    session_set_writer_name("test_lock writer");
    pd_status st = session_open(&a, dir, 1, &err);
    if (!tap_ok(st == PD_OK, "the first writer opens the session (%s)", err.msg))
        return;
    char want[64];
    snprintf(want, sizeof want, "in use by test_lock writer (pid %ld)", (long)getpid());
    st = session_open(&b, dir, 1, &err);
    tap_ok(st == PD_ERR_IO && !b && strstr(err.msg, want) && strncmp(err.msg, dir, strlen(dir)) == 0,
           "a second writer is refused naming the owner: %s", err.msg);
    err = (pd_error){0};
    st = session_open(&r, dir, 0, &err);
    tap_ok(st == PD_OK, "a reader opens the session while it is written (%s)", err.msg);
    session_free(r);
    pd_session_owner who;
    char host[256] = "";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    int held = session_owner(dir, &who);
    tap_ok(held == 1 && who.pid == (long)getpid() && strcmp(who.command, "test_lock writer") == 0 &&
               strcmp(who.host, host) == 0,
           "session_owner names who runs the session: pid %ld, command '%s', host '%s'", who.pid, who.command,
           who.host);
    char on[300];
    snprintf(on, sizeof on, ") on %s;", host);
    st = session_open(&b, dir, 1, &err);
    tap_ok(st == PD_ERR_IO && strstr(err.msg, on), "the refusal names the owner's host: %s", err.msg);

    /* the TUI's job takes the same lock (through pipeline_open): its run ends at once with the owner's name */
    char data[4200];
    snprintf(data, sizeof data, "%s", tap_path("data"));
    mkdir(data, 0777);
    static const char *const files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        char f[4400];
        snprintf(f, sizeof f, "%s/%s", data, files[i]);
        touch(f);
    }
    pd_config c;
    config_defaults(&c);
    char spec[4300];
    snprintf(spec, sizeof spec, "idx:%s", data);
    pd_job *j = NULL;
    err = (pd_error){0};
    if (config_set(&c, "dataset", spec, &err) == PD_OK && config_set(&c, "threads", "1", &err) == PD_OK &&
        job_start(&j, &c, dir, PIPELINE_ALL_STAGES, 1, &err) == PD_OK) {
        st = job_wait(j, &err);
        tap_ok(st == PD_ERR_IO && strstr(err.msg, want), "a job on the busy session is refused: %s", err.msg);
    } else {
        tap_ok(0, "job_start on the busy session (%s)", err.msg);
    }
    job_free(j);

    session_free(a);
    tap_ok(session_owner(dir, &who) == 0 && who.pid == 0, "session_owner: nobody runs a freed session");
    err = (pd_error){0};
    st = session_open(&b, dir, 1, &err);
    tap_ok(st == PD_OK, "after session_free the session can be written again (%s)", err.msg);
    session_free(b);
    session_set_writer_name(NULL);
}

static void test_stale_temporaries(void)
{
    char dir[4200], p[8][4400];
    snprintf(dir, sizeof dir, "%s", tap_path("stale"));
    mkdir(dir, 0777);
    snprintf(p[0], sizeof p[0], "%s/state", dir);
    mkdir(p[0], 0777);
    snprintf(p[0], sizeof p[0], "%s/.summary.csv.tmp.99999999", dir);        /* stale */
    snprintf(p[1], sizeof p[1], "%s/state/.ae.bin.tmp.1", dir);              /* stale */
    snprintf(p[2], sizeof p[2], "%s/.models.csv.tmp.%ld", dir, (long)getpid()); /* this process's own */
    snprintf(p[3], sizeof p[3], "%s/.notes.tmp.txt", dir);                   /* not a temporary */
    snprintf(p[4], sizeof p[4], "%s/notes.tmp.12", dir);                     /* not hidden: not ours */
    for (int i = 0; i < 5; i++)
        touch(p[i]);
    pd_error err = {0};
    pd_session *s = NULL;
    pd_status st = session_open(&s, dir, 0, &err);
    tap_ok(st == PD_OK && exists(p[0]) && exists(p[1]), "a reader leaves the temporaries alone (%s)", err.msg);
    session_free(s);
    st = session_open(&s, dir, 1, &err);
    tap_ok(st == PD_OK && !exists(p[0]) && !exists(p[1]),
           "a writer removes the temporaries killed writers left in the folder and state/ (%s)", err.msg);
    tap_ok(exists(p[2]) && exists(p[3]) && exists(p[4]), "and nothing else");
    session_free(s);
}

int main(void)
{
    tap_workdir("lock");
    test_tmp_names();
    test_empty_path();
    test_two_writers();
    test_stale_temporaries();
    return tap_done();
}
