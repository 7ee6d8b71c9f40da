"""French names and streets for the benchmarks' generated towns (one list for all)."""

# Common names first: the weights fall like real surname frequencies (Zipf).
LAST_NAMES = [
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
    "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
    "Muller", "Lefebvre", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier",
    "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément",
    "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand",
    "Duval", "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier",
    "Brun", "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier",
    "Arnaud", "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin",
    "Vidal", "Caron", "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas",
    "Lacroix", "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc",
    "Payet", "Rolland", "Leclercq", "Guillaume", "Lecomte", "Lopez", "Jean", "Dupuy",
    "Guillot", "Hubert", "Berger", "Carpentier", "Sanchez", "Dupuis", "Moulin", "Louis",
    "Deschamps", "Huet", "Vasseur", "Perez", "Boucher", "Fleury", "Royer", "Klein", "Jacquet",
    "Adam", "Paris", "Poirier", "Marty", "Aubry", "Guyot", "Carré", "Charles", "Renault",
    "Charpentier", "Ménard", "Maillard", "Baron", "Bertin", "Bailly", "Hervé", "Schneider",
    "Fernandez", "Le Gall", "Collet", "Léger", "Bouvier", "Julien", "Prévost", "Millet",
    "Perrot", "Daniel", "Le Roux", "Cousin", "Germain", "Breton", "Besson", "Langlois",
    "Rémy", "Le Goff", "Pelletier", "Lévêque", "Perrier", "Leblanc", "Barré", "Lebrun",
    "Marchal", "Weber", "Mallet", "Hamon", "Boulanger", "Jacob", "Monnier", "Michaud",
    "Rodriguez", "Guichard", "Gillet", "Étienne", "Grondin", "Poulain", "Tessier", "Chevallier",
    "Collin", "Chauvin", "Da Silva", "Bouchet", "Gay", "Lemaître", "Bénard", "Maréchal",
    "Humbert", "Reynaud", "Antoine", "Hoarau", "Perret", "Barthélemy", "Cordier", "Pichon",
    "Lejeune", "Gilbert", "Lamy", "Delaunay", "Pasquier", "Carlier", "Laporte", "Nguyen",
    "Benali", "Haddad", "Diallo", "Traoré", "Dos Santos", "Ferreira", "Ben Ahmed", "Kaya",
]
RARE_NAMES = ["Quéméneur", "Abgrall", "Zénatti", "Ybarnégaray", "Œttinger", "Kerdoncuff",
              "Vuillermoz", "Ducrozet", "Pétrequin", "Gœuriot", "Chaudière", "Xhaferi"]
CHILD_NAMES = [
    "Léa", "Emma", "Jade", "Louise", "Alice", "Chloé", "Lina", "Rose", "Anna", "Mia", "Ambre",
    "Julia", "Léna", "Inès", "Zoé", "Éloïse", "Romane", "Manon", "Juliette", "Agathe", "Iris",
    "Lou", "Camille", "Nina", "Margaux", "Clémence", "Héloïse", "Maëlys", "Anaïs", "Océane",
    "Gabriel", "Léo", "Raphaël", "Arthur", "Louis", "Jules", "Adam", "Maël", "Lucas", "Hugo",
    "Noah", "Sacha", "Yanis", "Théo", "Mathis", "Nathan", "Ethan", "Paul", "Aaron", "Tom",
    "Noé", "Timéo", "Valentin", "Mohamed", "Ayoub", "Enzo", "Clément", "Benoît", "Joël",
    "Gaël",
]
ADULT_NAMES = [
    "Sophie", "Julie", "Claire", "Nathalie", "Céline", "Aurélie", "Émilie", "Stéphanie",
    "Sandrine", "Élodie", "Laetitia", "Virginie", "Hélène", "Sarah", "Fatima", "Amélie",
    "Karim", "Nicolas", "Julien", "Sébastien", "Thomas", "Stéphane", "Pierre", "Marc",
    "Jérôme", "Frédéric", "Mickaël", "Grégory", "Cédric", "Rachid", "Guillaume", "François",
    "Benoît", "Anthony", "Jean-Baptiste", "Anne-Sophie", "Marie-Hélène", "Loïc", "Hervé",
]
STREETS = ["rue des Écoles", "avenue de la Gare", "rue Victor Hugo", "chemin des Vignes",
           "place de la Mairie", "allée des Tilleuls", "rue du Moulin", "impasse des Lilas",
           "boulevard Jean Jaurès", "rue de l'Église"]
