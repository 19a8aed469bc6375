from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'email.txt.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_action = resolve('action')
    l_0_title = resolve('title')
    l_0_movie_id = resolve('movie_id')
    l_0_rating = resolve('rating')
    l_0_genres = resolve('genres')
    l_0_changes = resolve('changes')
    l_0_change_known = resolve('change_known')
    l_0_event_type = resolve('event_type')
    l_0_event_id = resolve('event_id')
    l_0_time = resolve('time')
    l_0_source = resolve('source')
    try:
        t_1 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    if ((undefined(name='action') if l_0_action is missing else l_0_action) == 'created'):
        pass
        yield 'A new movie was added to the catalogue.\n'
    elif ((undefined(name='action') if l_0_action is missing else l_0_action) == 'updated'):
        pass
        yield 'A movie in the catalogue was updated.\n'
    else:
        pass
        yield 'A movie was removed from the catalogue.\n'
    yield '\n'
    if (undefined(name='title') if l_0_title is missing else l_0_title):
        pass
        yield 'Title:   '
        yield str((undefined(name='title') if l_0_title is missing else l_0_title))
        yield '\n'
    yield 'Movie:   '
    yield str((undefined(name='movie_id') if l_0_movie_id is missing else l_0_movie_id))
    yield '\n'
    if (not t_1((undefined(name='rating') if l_0_rating is missing else l_0_rating))):
        pass
        yield 'Rating:  '
        yield str((undefined(name='rating') if l_0_rating is missing else l_0_rating))
        yield '\n'
    if (not t_1((undefined(name='genres') if l_0_genres is missing else l_0_genres))):
        pass
        yield 'Genres:  '
        yield str((undefined(name='genres') if l_0_genres is missing else l_0_genres))
        yield '\n'
    if ((undefined(name='action') if l_0_action is missing else l_0_action) == 'updated'):
        pass
        yield '\n'
        if (undefined(name='changes') if l_0_changes is missing else l_0_changes):
            pass
            yield 'What changed:\n'
            for l_1_change in (undefined(name='changes') if l_0_changes is missing else l_0_changes):
                _loop_vars = {}
                pass
                yield '  - '
                yield str(environment.getattr(l_1_change, 'field'))
                yield ': '
                yield str(environment.getattr(l_1_change, 'before'))
                yield ' -> '
                yield str(environment.getattr(l_1_change, 'after'))
                yield '\n'
            l_1_change = missing
        elif (undefined(name='change_known') if l_0_change_known is missing else l_0_change_known):
            pass
            yield 'The update changed no title, rating or genres.\n'
        else:
            pass
            yield 'The event does not say what changed.\n'
    yield '\n--\nEvent '
    yield str((undefined(name='event_type') if l_0_event_type is missing else l_0_event_type))
    yield ' '
    yield str((undefined(name='event_id') if l_0_event_id is missing else l_0_event_id))
    yield ' at '
    yield str((undefined(name='time') if l_0_time is missing else l_0_time))
    yield ' from '
    yield str((undefined(name='source') if l_0_source is missing else l_0_source))
    yield '\nQuote the event id when asking about this email.\n'

blocks = {}
debug_info = '1=28&3=31&9=38&10=41&12=44&13=46&14=49&16=51&17=54&19=56&21=59&23=62&24=66&26=73&34=80'