"""The French text the corpus drafts are made of: sentences per part, as auditeurs write them.

Each part has two pools. Drafts of the development set draw from ``DEV`` and the held-out set from
``HELD_OUT``, so the held-out third is measured on sentences the lexicon was never tuned on.
``NEUTRAL`` sentences (transitions, asides) go anywhere.
"""

from __future__ import annotations

DEV: dict[str, list[str]] = {
    "introduction": [
        "Ce rapport présente une pratique de formation que j'ai conduite au sein de mon organisme.",
        "Dans une première partie, j'expliquerai le choix de cette pratique, puis je la décrirai avant d'en proposer une analyse.",
        "Je travaille depuis six ans dans la formation des adultes, d'abord comme formatrice puis comme coordinatrice.",
        "Le lecteur trouvera d'abord le contexte, ensuite le déroulement de l'action, enfin ce qu'elle m'a appris.",
        "Ce rapport s'organise en trois temps : le choix, la description puis l'analyse de la pratique.",
    ],
    "choix": [
        "J'ai choisi cette pratique parce qu'elle représente le cœur de mon activité de coordination.",
        "La raison principale de ce choix tient à l'investissement personnel que ce projet m'a demandé.",
        "Plutôt que l'animation de stages courts, j'ai retenu ce projet car il illustre ma prise de responsabilité.",
        "Mon intérêt pour ce dispositif vient de ma propre reconversion, qui m'a motivée à m'y investir.",
        "Ce choix s'explique aussi par l'enjeu stratégique du projet pour la structure, ce qui le rend significatif.",
        "Pourquoi cette action plutôt qu'une autre ? Parce qu'elle m'a obligée à mobiliser tout ce que j'avais appris.",
    ],
    "contexte": [
        "L'association, créée en 1998, compte quarante salariés répartis sur trois sites de la région.",
        "Le dispositif est financé par la Région et s'adresse à un public de demandeurs d'emploi de longue durée.",
        "Notre organisme de formation est implanté dans le département depuis vingt ans et travaille avec un réseau de partenaires.",
        "Le service formation compte six formateurs et une assistante, sous la responsabilité d'une directrice.",
        "Le public accueilli est composé de jeunes de seize à vingt-cinq ans sortis du système scolaire sans qualification.",
        "Le financeur impose un cahier des charges précis, avec un budget annuel de cent vingt mille euros.",
    ],
    "role": [
        "Ma mission consistait à coordonner l'ensemble du dispositif, de la conception au bilan.",
        "La directrice m'a confié la responsabilité du projet, avec une large autonomie dans mes décisions.",
        "J'étais responsable du recrutement des formateurs et du suivi budgétaire, et je rendais compte au comité de pilotage.",
        "Dans ce poste, je décidais seule du calendrier des sessions et je validais les contenus proposés.",
        "Mon rôle était aussi d'arbitrer entre les demandes du financeur et celles de l'équipe pédagogique.",
        "La fonction de coordinatrice relevait de la direction, mais les choix pédagogiques m'étaient délégués.",
    ],
    "actes": [
        "La première étape a été l'analyse des besoins, menée par entretiens avec douze conseillers.",
        "J'ai ensuite conçu le programme en quatre modules et préparé les supports de chaque séance (voir annexe 1).",
        "Chaque semaine, j'animais une réunion de l'équipe pour ajuster le planning des ateliers.",
        "Le déroulement de la formation s'est étalé sur six mois, avec une session collective par mois.",
        "Lors de la phase d'évaluation, j'ai construit un questionnaire et organisé un bilan collectif (annexe 2).",
        "J'ai d'abord rédigé le scénario pédagogique, puis j'ai animé les deux premières séquences moi-même.",
    ],
    "difficultes": [
        "La principale difficulté a été l'absence répétée de plusieurs participants au cours du deuxième mois.",
        "J'ai aussi rencontré une résistance de certains formateurs, peu convaincus par les nouvelles modalités.",
        "Un conflit de calendrier avec le financeur a retardé le démarrage de trois semaines.",
        "Face à ce problème, j'ai revu le planning et proposé des séances à distance le soir.",
        "Pour remédier à ces tensions, j'ai organisé un temps d'échange et adapté la répartition des modules.",
        "Cet obstacle m'a conduite à chercher une solution avec la conseillère référente de chaque stagiaire.",
    ],
    "competences": [
        "Cette expérience m'a permis de développer des compétences d'ingénierie de formation que je ne maîtrisais pas.",
        "J'ai appris à construire un budget prévisionnel et à le suivre avec la direction financière.",
        "Je suis désormais capable de conduire une analyse des besoins et d'en tirer un cahier des charges.",
        "J'ai acquis un savoir-faire de coordination, par exemple pour animer une équipe de formateurs indépendants.",
        "Ma capacité à négocier avec un financeur s'est renforcée, comme l'a montré le comité de juin.",
    ],
    "questions": [
        "Cette pratique soulève une question méthodologique : comment évaluer le transfert des acquis en situation de travail ?",
        "Les apports théoriques de la didactique professionnelle m'ont aidée à comprendre l'écart entre prescrit et réel.",
        "Une question reste ouverte pour moi : jusqu'où individualiser un parcours sans perdre la dynamique de groupe ?",
        "Selon plusieurs auteurs, l'alternance ne suffit pas à produire des apprentissages ; ce concept m'interroge encore.",
        "J'ai pu résoudre la question du suivi grâce au modèle de Kirkpatrick, mais celle de l'engagement reste en suspens.",
    ],
    "conclusion": [
        "En conclusion, cette pratique a profondément transformé ma façon de concevoir la coordination.",
        "Au terme de ce travail, je retiens l'importance du dialogue avec les financeurs.",
        "Pour l'avenir, j'envisage de poursuivre dans cette voie en préparant un master en ingénierie de formation.",
        "Ce bilan ouvre des perspectives pour le projet, que la structure souhaite reconduire l'an prochain.",
    ],
}

HELD_OUT: dict[str, list[str]] = {
    "introduction": [
        "Ce présent rapport porte sur le projet de formation que j'ai piloté l'an dernier.",
        "Je présenterai d'abord les raisons de ce choix, puis je décrirai la pratique, enfin je l'analyserai.",
        "Après dix ans comme conseiller en insertion, je suis devenu chargé de projets de formation.",
        "La dernière partie propose un regard critique sur cette pratique et sur ce qu'elle m'a appris.",
    ],
    "choix": [
        "Si j'ai retenu cette action, c'est parce qu'elle a été la première que j'ai menée de bout en bout.",
        "Ce choix n'est pas neutre : il répond à une motivation ancienne pour l'accompagnement des adultes peu qualifiés.",
        "Cette expérience me paraît représentative de mon métier, et l'intérêt que j'y ai trouvé justifie de la présenter ici.",
        "J'ai préféré cette pratique plutôt que mes missions d'accueil, car elle engageait davantage ma responsabilité.",
        "L'enjeu était important pour moi comme pour l'organisme, ce qui explique mon investissement.",
    ],
    "contexte": [
        "Le centre de formation appartient à un réseau national et accueille chaque année près de mille stagiaires.",
        "La structure, une entreprise d'insertion de vingt-cinq salariés, est située en zone rurale.",
        "Le dispositif régional vise les salariés en reconversion, avec un financement de l'opérateur de compétences.",
        "Le secteur médico-social connaît de fortes tensions de recrutement, ce qui explique la commande du financeur.",
        "L'établissement dispose d'un service dédié aux partenariats avec les entreprises du territoire.",
    ],
    "role": [
        "On m'a confié la mission de monter le parcours et d'en assurer le pilotage pendant un an.",
        "Mes responsabilités couvraient la conception, le suivi des stagiaires et la relation avec les entreprises.",
        "J'ai pris seul plusieurs décisions importantes, notamment le choix des intervenants.",
        "Mon poste de chargé de projets me donnait une réelle autonomie, sous le contrôle du directeur.",
        "Je coordonnais trois formateurs et je rendais compte chaque mois au responsable de l'agence.",
    ],
    "actes": [
        "Le projet s'est déroulé en trois phases : la préparation, l'animation puis l'évaluation.",
        "Pendant la phase de préparation, j'ai conçu les fiches de séance et organisé les plannings (voir annexe 1).",
        "J'ai animé une séance d'ouverture avec les quinze stagiaires, puis des ateliers hebdomadaires.",
        "Chaque session se terminait par un temps de bilan que je préparais avec les formateurs.",
        "Enfin, j'ai rédigé le compte rendu destiné au financeur et préparé la réunion de clôture (annexe 2).",
    ],
    "difficultes": [
        "Très vite, un premier obstacle est apparu : le manque de disponibilité des tuteurs en entreprise.",
        "Les abandons de deux stagiaires au premier mois ont constitué une vraie difficulté pour le groupe.",
        "Le problème du matériel informatique a compliqué les séances à distance.",
        "Pour y faire face, j'ai mis en place un système de binômes et sollicité le service informatique.",
        "Ces écueils m'ont obligé à adapter le rythme et à revoir les objectifs intermédiaires.",
    ],
    "competences": [
        "Grâce à ce projet, j'ai développé des compétences de pilotage que je mobilise aujourd'hui au quotidien.",
        "J'ai appris à coordonner des acteurs aux intérêts différents, ce qui était nouveau pour moi.",
        "Je maîtrise maintenant les outils de suivi de la qualité exigés par le référentiel national.",
        "Ce savoir-faire d'ingénierie s'est construit pas à pas, par exemple lors de la rédaction du cahier des charges.",
        "Je me sens désormais capable de concevoir un dispositif complet et de le défendre devant un comité.",
    ],
    "questions": [
        "Sur le plan méthodologique, je me suis demandé comment mesurer les effets d'une formation aussi courte.",
        "La lecture de travaux sur l'andragogie m'a permis d'éclairer certains choix, mais d'autres questions restent ouvertes.",
        "D'un point de vue théorique, la notion de compétence elle-même mérite d'être interrogée.",
        "Une hypothèse reste à vérifier : la motivation des stagiaires dépend-elle surtout du lien avec l'entreprise ?",
    ],
    "conclusion": [
        "Pour conclure, ce projet a été une étape décisive de mon parcours professionnel.",
        "Je souhaite désormais poursuivre vers des fonctions de responsable de formation.",
        "En somme, cette expérience ouvre de nouvelles perspectives pour la structure comme pour moi.",
        "Demain, le dispositif pourrait évoluer vers un format plus modulaire, ce que j'envisage de proposer.",
    ],
}

NEUTRAL: list[str] = [
    "Ce point mérite d'être précisé.",
    "Il faut rappeler que tout cela s'est fait en quelques mois seulement.",
    "Les échanges avec l'équipe ont été nombreux tout au long de l'année.",
    "Je reviendrai sur cet aspect un peu plus loin.",
    "Le groupe comptait au final quatorze personnes.",
]

ANNEX_TITLES: list[str] = [
    "Programme de la formation",
    "Questionnaire d'évaluation",
    "Compte rendu du comité de pilotage",
]
